/**
 * `lab93 -r -c` without an address never picks one of several mDNS answers silently (issue 9,
 * item 5). Driven with injected discovery results, then once with real mDNS on loopback (two
 * announcers under one name), and once end to end: a discovered TLS server is joined only with
 * the certificate it announced.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { UsageError } from '../../src/cli/usage.js';
import { RepeaterConnection } from '../../src/client/connection.js';
import { PinStore } from '../../src/client/pins.js';
import type { TrustEvent } from '../../src/client/transport.js';
import { certFingerprint, tlsServerOptions } from '../../src/net/tls.js';
import { Discovery, discoverRepeater, type ServiceEntry } from '../../src/peer/discovery.js';
import { findServerOnLan, type FoundServer } from '../../src/peer/find-server.js';
import { selfSigned } from '../helpers/certs.js';
import { removeDir, startServer, tempDir, type TestServer } from '../helpers/server.js';
import { freeUdpPort } from '../helpers/udp.js';

const FP_A = 'AA:'.repeat(31) + 'AA';
const FP_B = 'BB:'.repeat(31) + 'BB';

function entry(o: Partial<ServiceEntry> & { address: string }): ServiceEntry {
  const { address, ...rest } = o;
  return {
    instance: 'lab93@lab-pc', peerId: 'p-real', mode: 'repeater', username: 'lab93', version: 1, fingerprint: null,
    host: 'lab-pc.local', port: 5190, addresses: [address], via: 'eth0', firstSeen: 0, lastSeen: 0, expiresAt: 0, ...rest,
  };
}

interface Run {
  result: Promise<FoundServer>;
  out: () => string;
  input: PassThrough & { isTTY?: boolean };
}

function find(found: ServiceEntry[], pins: PinStore, tty = false): Run {
  const input: PassThrough & { isTTY?: boolean } = new PassThrough();
  if (tty) input.isTTY = true;
  const output = new PassThrough();
  let text = '';
  output.on('data', (d: Buffer) => (text += d.toString()));
  const result = findServerOnLan({ input, output, pins, discover: async () => found });
  return { result, out: () => text, input };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof UsageError, String(err));
    return err.message;
  }
  assert.fail('it should have refused');
}

describe('choosing among mDNS answers', () => {
  let dir: string;
  let pins: PinStore;
  before(() => {
    dir = tempDir('lab93-discovery-');
    pins = new PinStore(join(dir, 'known-servers.json'));
  });
  after(() => removeDir(dir));

  it('two answers under one name, without a terminal: refused, both listed', async () => {
    const msg = await refusal(find([entry({ address: '10.0.0.5' }), entry({ address: '10.0.0.66', peerId: 'p-other' })], pins).result);
    assert.match(msg, /2 lab93 servers answered.*same name/);
    assert.ok(msg.includes('10.0.0.5:5190') && msg.includes('10.0.0.66:5190'), msg);
  });

  it('two answers under one name, at a terminal: listed with fingerprints, and the one the user picks is joined', async () => {
    const r = find([entry({ address: '10.0.0.5', fingerprint: FP_A }), entry({ address: '10.0.0.66', peerId: 'p-other', fingerprint: FP_B })], pins, true);
    // Nothing is joined before the user answers.
    await new Promise<void>((resolve) => {
      const check = (): void => (r.out().includes('which one?') ? resolve() : void setTimeout(check, 10));
      check();
    });
    assert.ok(r.out().includes(FP_A) && r.out().includes(FP_B), r.out());
    r.input.write('2\n');
    const s = await r.result;
    assert.equal(s.host, '10.0.0.66');
    assert.equal(s.fingerprint, FP_B);
    assert.deepEqual(s.tls?.expect?.fingerprint, FP_B, 'dialled over TLS, expecting the certificate it announced');
    assert.deepEqual(s.tls?.alsoPin, ['mdns:lab93@lab-pc']);
  });

  it('the same server seen on two addresses with one certificate is one server: joined without a question', async () => {
    const s = await find([entry({ address: '10.0.0.5', fingerprint: FP_A }), entry({ address: '192.168.1.5', fingerprint: FP_A })], pins).result;
    assert.equal(s.fingerprint, FP_A);
  });

  it('one server whose fingerprint differs from the pin of its name: refused, saying how to forget the pin', async () => {
    pins.set(['mdns:lab93@lab-pc'], FP_A);
    try {
      const msg = await refusal(find([entry({ address: '10.0.0.66', fingerprint: FP_B })], pins).result);
      assert.match(msg, /does not match your pin/);
      assert.ok(msg.includes(FP_A) && msg.includes(FP_B));
      assert.ok(msg.includes("lab93 pins forget 'mdns:lab93@lab-pc'"), msg);
      const plain = await refusal(find([entry({ address: '10.0.0.66' })], pins).result);
      assert.match(plain, /no certificate \(plaintext\)/, 'a pinned TLS server announcing no TLS is a downgrade');
      // The pinned one still joins, marked as pinned.
      const ok = find([entry({ address: '10.0.0.5', fingerprint: FP_A })], pins);
      assert.equal((await ok.result).host, '10.0.0.5');
      assert.match(ok.out(), /\(pinned\)/);
    } finally {
      pins.forget('mdns:lab93@lab-pc');
    }
  });

  it('a pinned server among several is still not picked silently, and a conflicting one cannot be chosen', async () => {
    pins.set(['mdns:lab93@lab-pc'], FP_A);
    try {
      const r = find([entry({ address: '10.0.0.5', fingerprint: FP_A }), entry({ address: '10.0.0.66', peerId: 'p-evil', fingerprint: FP_B })], pins, true);
      await new Promise<void>((resolve) => {
        const check = (): void => (r.out().includes('which one?') ? resolve() : void setTimeout(check, 10));
        check();
      });
      assert.match(r.out(), /10\.0\.0\.5:5190.*\(pinned\)/);
      assert.match(r.out(), /10\.0\.0\.66:5190.*REFUSED/);
      r.input.write('2\n');
      assert.match(await refusal(r.result), /does not match your pin/);
    } finally {
      pins.forget('mdns:lab93@lab-pc');
    }
  });

  it('every name printed from discovery is sanitised', async () => {
    const evil = 'lab93\x1b]0;owned\x07@lab\x1b[2J-pc\u202e';
    const msg = await refusal(find([entry({ address: '10.0.0.5', instance: evil }), entry({ address: '10.0.0.6', instance: `${evil}2`, peerId: 'x' })], pins).result);
    assert.equal(/[\x1b\x07\u202e]/.test(msg), false, JSON.stringify(msg));
    const one = find([entry({ address: '10.0.0.5', instance: evil })], pins);
    await one.result;
    assert.equal(/[\x1b\x07\u202e]/.test(one.out()), false, JSON.stringify(one.out()));
    assert.ok(one.out().includes('lab93@lab-pc'));
  });
});

describe('real mDNS on loopback', () => {
  it('two servers announcing under one name are both seen, and neither is picked', async () => {
    const mdnsPort = await freeUdpPort();
    const announcers = [
      new Discovery({ service: { instance: 'lab93@lab-pc', port: 15190, peerId: 'real0000', mode: 'repeater', username: 'lab93', fingerprint: FP_A }, interfaces: ['lo'], mdnsPort }),
      new Discovery({ service: { instance: 'lab93@lab-pc', port: 15191, peerId: 'evil0000', mode: 'repeater', username: 'lab93', fingerprint: FP_B }, interfaces: ['lo'], mdnsPort }),
    ];
    const dir = tempDir('lab93-mdns-');
    try {
      await Promise.all(announcers.map((d) => d.start()));
      const found = await discoverRepeater({ waitMs: 1500, interfaces: ['lo'], mdnsPort });
      assert.deepEqual(found.map((e) => [e.instance, e.port, e.fingerprint]).sort(), [['lab93@lab-pc', 15190, FP_A], ['lab93@lab-pc', 15191, FP_B]]);
      const pins = new PinStore(join(dir, 'known-servers.json'));
      const msg = await refusal(find(found, pins).result);
      assert.ok(msg.includes('127.0.0.1:15190') && msg.includes('127.0.0.1:15191'), msg);
    } finally {
      await Promise.all(announcers.map((d) => d.stop()));
      removeDir(dir);
    }
  });
});

describe('joining a discovered TLS server', () => {
  let real: TestServer;
  let impostor: TestServer;
  let realFp: string;
  let dir: string;
  before(async () => {
    dir = tempDir('lab93-discovered-');
    const a = await selfSigned();
    const b = await selfSigned();
    realFp = certFingerprint(a.cert);
    real = await startServer({}, { tls: tlsServerOptions({ cert: a.cert, key: a.key }) });
    impostor = await startServer({}, { tls: tlsServerOptions({ cert: b.cert, key: b.key }) });
  });
  after(async () => {
    await real.stop();
    await impostor.stop();
    for (const d of [real.dir, impostor.dir, dir]) removeDir(d);
  });

  async function join1(found: FoundServer, pins: PinStore): Promise<{ online: boolean; detail: string; events: TrustEvent[] }> {
    const events: TrustEvent[] = [];
    const conn = new RepeaterConnection({ host: found.host, port: found.port, username: 'tess', dbPath: ':memory:', backoffInitialMs: 60_000, tls: { ...found.tls!, pins, onTrust: (e) => events.push(e) } });
    const r = new Promise<{ online: boolean; detail: string }>((resolve) => conn.on('state', (s: string, d?: string) => (s === 'online' || s === 'offline') && resolve({ online: s === 'online', detail: d ?? '' })));
    await conn.start();
    const out = await r;
    await conn.close();
    return { ...out, events };
  }

  it('joins the server with the certificate it announced and pins it under its name; a copy of the announcement with another certificate is refused', async () => {
    const pins = new PinStore(join(dir, 'known-servers.json'));
    const found = await find([entry({ address: '127.0.0.1', port: real.port, fingerprint: realFp })], pins).result;
    const ok = await join1(found, pins);
    assert.equal(ok.online, true, ok.detail);
    assert.equal(pins.get('mdns:lab93@lab-pc')?.fingerprint, realFp);
    assert.equal(pins.get(`127.0.0.1:${real.port}`)?.fingerprint, realFp);

    // Someone announces the real fingerprint (it is public) but cannot present that certificate.
    const fake = await find([entry({ address: '127.0.0.1', port: impostor.port, fingerprint: realFp, peerId: 'p-evil' })], pins).result;
    const bad = await join1(fake, pins);
    assert.equal(bad.online, false);
    assert.match(bad.detail, /not the one expected from your pin of lab93@lab-pc/);
    assert.equal(bad.events[0]?.kind, 'unexpected');
    assert.equal(impostor.server.sessions.size, 0, 'no hello reached the impostor');
  });
});
