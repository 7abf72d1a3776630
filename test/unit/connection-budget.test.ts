import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionBudget, connectionCaps, lowFdWarning, probeFds, readFdLimit, DEFAULT_FD_OPTIONS } from '../../src/server/connection-budget.js';
import { LogThrottle } from '../../src/server/log-throttle.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('the open-file limit', () => {
  it('is the soft "Max open files" of /proc/self/limits; unreadable or unlimited gives null', () => {
    assert.equal(readFdLimit(() => LIMITS), 1024);
    assert.equal(readFdLimit(() => LIMITS.replace('1024     ', 'unlimited')), null);
    assert.equal(readFdLimit(() => {
      throw Object.assign(new Error('no /proc'), { code: 'ENOENT' });
    }), null);
    assert.equal(readFdLimit(() => 'nothing useful'), null);
  });

  it('on this machine it is a positive number (Linux)', { skip: process.platform !== 'linux' ? 'not Linux: no /proc/self/limits' : false }, () => {
    const n = readFdLimit();
    assert.ok(n !== null && n > 0);
  });
});

describe('connection caps derived from the open-file limit', () => {
  const configured = { maxConnections: 50_000, maxConnectionsPerAddress: 1000 };

  it('with the classic 1024: 960 connections, 240 from one address, and a warning', () => {
    const caps = connectionCaps(configured, 1024, DEFAULT_FD_OPTIONS);
    assert.deepEqual(caps, { maxConnections: 960, maxConnectionsPerAddress: 240, fdLimit: 1024, connectionFds: 960, lowered: true });
    assert.match(lowFdWarning(caps, 50_000)!, /^open-file limit is 1024: at most 960 connections \(240 per address\) instead of 50000; raise it/);
  });

  it('a generous limit leaves the configured caps alone, without a warning', () => {
    const caps = connectionCaps(configured, 1_048_576, DEFAULT_FD_OPTIONS);
    assert.equal(caps.maxConnections, 50_000);
    assert.equal(caps.maxConnectionsPerAddress, 1000);
    assert.equal(lowFdWarning(caps, 50_000), null);
  });

  it('a limit that lowers the cap but still leaves thousands of connections is no warning', () => {
    const caps = connectionCaps(configured, 20_000, DEFAULT_FD_OPTIONS);
    assert.equal(caps.maxConnections, 19_936);
    assert.equal(caps.lowered, true);
    assert.equal(lowFdWarning(caps, 50_000), null);
  });

  it('a tiny limit keeps half of it for connections rather than none, and at least one per address', () => {
    const caps = connectionCaps(configured, 40, { fdReserve: 64, addressSharePercent: 1 });
    assert.equal(caps.connectionFds, 20);
    assert.equal(caps.maxConnections, 20);
    assert.equal(caps.maxConnectionsPerAddress, 1);
  });

  it('an unknown limit keeps the configured caps', () => {
    const caps = connectionCaps(configured, null, DEFAULT_FD_OPTIONS);
    assert.equal(caps.maxConnections, 50_000);
    assert.equal(caps.lowered, false);
  });
});

describe('the connection budget', () => {
  it('refuses past the per-address cap while other addresses still get in, and frees on release', () => {
    const b = new ConnectionBudget({ maxConnections: 5, maxConnectionsPerAddress: 2, fdLimit: null, connectionFds: null, lowered: false });
    assert.equal(b.admit('10.0.0.1'), null);
    assert.equal(b.admit('10.0.0.1'), null);
    assert.equal(b.admit('10.0.0.1'), 'address');
    assert.equal(b.admit('10.0.0.2'), null);
    assert.equal(b.admit('10.0.0.3'), null);
    assert.equal(b.admit('10.0.0.3'), null);
    assert.equal(b.admit('10.0.0.4'), 'total');
    assert.equal(b.total, 5);
    b.release('10.0.0.1');
    assert.equal(b.from('10.0.0.1'), 1);
    assert.equal(b.admit('10.0.0.4'), null);
    b.release('never-counted');
    assert.equal(b.total, 5, 'releasing an address never counted changes nothing');
  });
});

describe('the descriptor probe', () => {
  it('reports EMFILE and ENFILE, and nothing else', () => {
    const failing = (code: string) => () => {
      throw Object.assign(new Error(code), { code });
    };
    assert.equal(probeFds(failing('EMFILE')), 'EMFILE');
    assert.equal(probeFds(failing('ENFILE')), 'ENFILE');
    assert.equal(probeFds(failing('EACCES')), 'ok');
    assert.equal(probeFds(), 'ok');
  });
});

describe('the log throttle', () => {
  it('logs once per window with how many it left out, and tells the rest of a burst when asked', () => {
    let t = 0;
    const lines: string[] = [];
    const th = new LogThrottle(10_000, () => t);
    for (let i = 0; i < 5; i++) th.hit('address', (skipped) => lines.push(`address skipped=${skipped}`));
    th.hit('total', (skipped) => lines.push(`total skipped=${skipped}`));
    assert.deepEqual(lines, ['address skipped=0', 'total skipped=0']);
    t = 5_000;
    th.flush((key, skipped) => lines.push(`flush ${key} ${skipped}`));
    assert.equal(lines.length, 2, 'nothing before the window is over');
    t = 10_000;
    th.flush((key, skipped) => lines.push(`flush ${key} ${skipped}`));
    assert.deepEqual(lines.slice(2), ['flush address 4']);
    th.hit('address', (skipped) => lines.push(`address skipped=${skipped}`));
    assert.equal(lines.length, 3, 'the flush opened a new window');
    t = 20_000;
    th.hit('address', (skipped) => lines.push(`address skipped=${skipped}`));
    assert.deepEqual(lines.slice(3), ['address skipped=1']);
  });
});
