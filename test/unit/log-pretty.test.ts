/**
 * Readable log lines (src/log/pretty.ts): the layout a person reads, the start line, values
 * escaped so a user name cannot drive the operator's terminal, and createLogger's choice of
 * format by destination.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrettyFormatter, escapeText, formatValue, startLine } from '../../src/log/pretty.js';
import { createLogger, resolveLogFormat } from '../../src/log/index.js';

const T = new Date(2025, 2, 14, 9, 12, 31).getTime();
const line = (o: Record<string, unknown>): string => JSON.stringify({ level: 30, time: T, pid: 42, name: 'lab93', ...o }) + '\n';

describe('readable log lines', () => {
  it('time, level only when not info, component, message, then the fields', () => {
    const f = new PrettyFormatter();
    assert.equal(f.format(line({ conn: 'c1', remote: '127.0.0.1:51262', user: 'alice', msg: 'connection opened' })), '09:12:31 connection opened  conn=c1 remote=127.0.0.1:51262 user=alice\n');
    assert.equal(
      f.format(line({ level: 40, component: 'classic', remote: '10.0.0.9', why: '64 connections from this address', msg: 'classic connection refused' })),
      '09:12:31 WARN [classic] classic connection refused  remote=10.0.0.9 why="64 connections from this address"\n',
    );
    assert.equal(f.format(line({ level: 50, err: { type: 'Error', message: 'disk full', code: 'ENOSPC', stack: 'Error: disk full\n    at x' }, msg: 'classic post could not be stored' })), '09:12:31 ERROR classic post could not be stored  err="ENOSPC: disk full"\n');
    assert.equal(f.format(line({ msg: 'server stopped' })), '09:12:31 server stopped\n');
    assert.equal(f.format(line({ ms: 5, dm: false, to: null, users: ['a', 'b'], msg: 'x' })), '09:12:31 x  ms=5 dm=false to=null users=["a","b"]\n');
  });

  it('escapes what a client sent, so it cannot drive the terminal', () => {
    const f = new PrettyFormatter();
    const out = f.format(line({ user: 'al\x1b[2Jice', room: 'a\u202eb', subject: 'c\x9b1mC', msg: 'rejected: bad\nname' }));
    assert.equal(out, '09:12:31 rejected: bad\\nname  user="al\\x1b[2Jice" room="a\\u202eb" subject="c\\x9b1mC"\n');
    assert.equal(out.split('\n').length, 2, 'one line per event');
    assert.doesNotMatch(out.slice(0, -1), /[\x00-\x1f\x7f-\x9f\u202e]/);
    assert.equal(escapeText('tab\there \ud800'), 'tab\\there \\ud800');
    assert.equal(formatValue('café'), 'café', 'printable text stays as it is');
    assert.equal(formatValue('two words'), '"two words"');
  });

  it('a line that is not JSON is printed escaped', () => {
    assert.equal(new PrettyFormatter().format('plain \x1b text\n'), 'plain \\x1b text\n');
  });

  it('the ready event is the start line; the details it sums up are not printed before it', () => {
    const f = new PrettyFormatter();
    assert.equal(f.format(line({ host: '0.0.0.0', port: 5190, msg: 'listening' })), '');
    assert.equal(f.format(line({ db: '/srv/chat.db', msg: 'store open' })), '');
    assert.equal(f.format(line({ level: 40, err: 'no multicast', msg: 'cannot announce on the LAN; clients must give the address' })), '09:12:31 WARN cannot announce on the LAN; clients must give the address  err="no multicast"\n', 'warnings are never held back');
    assert.equal(
      f.format(line({ role: 'server', listen: '0.0.0.0:5190', db: '/srv/chat.db', classic: true, classicPorts: [8080], announce: true, msg: 'ready' })),
      'lab93 server on 0.0.0.0:5190 · database /srv/chat.db · classic board on this port and on :8080 · announced on the LAN · Ctrl-C stops\n',
    );
    assert.equal(f.format(line({ iface: 'eth1', msg: 'discovery: on interface' })), '09:12:31 discovery: on interface  iface=eth1\n', 'after the start line, every event');
    const verbose = new PrettyFormatter({ verbose: true });
    assert.equal(verbose.format(line({ host: '0.0.0.0', port: 5190, msg: 'listening' })), '09:12:31 listening  host=0.0.0.0 port=5190\n', '-v prints the details too');
  });

  it('start lines of the server without extras, a cluster, the classic board and a peer', () => {
    assert.equal(startLine({ role: 'server', listen: '127.0.0.1:6000', db: '/d.db', classic: false, announce: false }), 'lab93 server on 127.0.0.1:6000 · database /d.db · classic board off · not announced on the LAN · Ctrl-C stops');
    assert.equal(startLine({ role: 'server', listen: '0.0.0.0:5190', store: 'postgres://lab@db/lab93', bus: 'nats://n:4222', classic: true, classicPorts: [], announce: true }), 'lab93 server on 0.0.0.0:5190 · store postgres://lab@db/lab93, bus nats://n:4222 · classic board on this port · announced on the LAN · Ctrl-C stops');
    assert.equal(startLine({ role: 'classic', listen: '0.0.0.0:8080', db: '/d.db' }), 'lab93 classic board on 0.0.0.0:8080 · database /d.db · Ctrl-C stops');
    assert.equal(startLine({ role: 'peer', listen: '0.0.0.0:5191', peer: 'ab12', user: 'bob', db: '/p.db', discovery: true, peers: ['10.0.0.7:5190'] }), 'lab93 peer ab12 (bob) on 0.0.0.0:5191 · store /p.db · finding peers on the LAN · linking to 10.0.0.7:5190 · Ctrl-C stops');
  });

  it('colours only the level and the time, when asked', () => {
    const f = new PrettyFormatter({ color: true });
    assert.equal(f.format(line({ level: 40, msg: 'slow' })), '\x1b[2m09:12:31\x1b[0m \x1b[33mWARN\x1b[0m slow\n');
  });
});

describe('createLogger formats', () => {
  it('auto is JSON lines to a file (not a terminal); pretty and json can be forced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab93-log-'));
    try {
      assert.equal(resolveLogFormat(undefined, join(dir, 'x.log')), 'json');
      assert.equal(resolveLogFormat('pretty', join(dir, 'x.log')), 'pretty');
      const auto = join(dir, 'auto.log');
      createLogger({ destination: auto }).info({ port: 1 }, 'listening');
      assert.equal(JSON.parse(readFileSync(auto, 'utf8')).msg, 'listening');
      const pretty = join(dir, 'pretty.log');
      const log = createLogger({ destination: pretty, format: 'pretty' });
      log.child({ component: 'classic' }).warn({ remote: '10.0.0.9' }, 'classic connection refused');
      log.info('stopping');
      // Written synchronously: on disk as soon as the call returns.
      assert.match(readFileSync(pretty, 'utf8'), /^\d\d:\d\d:\d\d WARN \[classic\] classic connection refused {2}remote=10\.0\.0\.9\n\d\d:\d\d:\d\d stopping\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
