/**
 * The canonical encoding of signed fields and message signatures (src/peer/canonical.ts,
 * src/peer/identity.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  NULL, bytes, canonicalMessage, decodeRecord, encodeRecord, fromB64url, num, text, toB64url, toBase32, uint, type Field, type SignedFields,
} from '../../src/peer/canonical.js';
import { KeyCache, messageLink, signMessage, verifyBatch, verifyMessage, verifyMessages, type PeerIdentity, type SignedItem } from '../../src/peer/identity.js';
import { decodeFrame, encodeFrame } from '../../src/protocol/frame.js';
import { parsePeerPacket } from '../../src/peer/packets.js';
import { DEFAULT_LIMITS } from '../../src/protocol/limits.js';
import { alice, aliceMessage, bob, carol, fieldsFromJson, fieldsToJson, golden, readGolden } from './peer-identity-vectors.js';

const code = (r: { ok: boolean; code?: string }) => (r.ok ? 'ok' : r.code);

describe('canonical records', () => {
  it('lay out each kind of value as documented (checked by hand, not by the encoder)', () => {
    const r = encodeRecord('d', [NULL, text(''), text('é'), text('😀'), uint(1), num(0.5), num(-0), bytes(Buffer.of(0xff))]);
    assert.ok(r.ok);
    assert.equal(r.value.toString('hex'), [
      '0100000001' + '64', // domain "d"
      '00', // null
      '0100000000', // "" (not null)
      '0100000002' + 'c3a9', // é: length in bytes
      '0100000004' + 'f09f9880', // 😀: one character, 2 UTF-16 units, 4 bytes
      '02' + '0000000000000001',
      '03' + '3fe0000000000000', // 0.5
      '03' + '0000000000000000', // -0 written as 0
      '0400000001' + 'ff',
    ].join(''));
  });

  it('null and the empty string, and the field boundaries, can never be confused', () => {
    const enc = (fs: Field[]) => {
      const r = encodeRecord('x', fs);
      assert.ok(r.ok);
      return r.value.toString('hex');
    };
    assert.notEqual(enc([NULL]), enc([text('')]));
    assert.notEqual(enc([text('ab'), text('c')]), enc([text('a'), text('bc')]));
    assert.notEqual(enc([text('a'), NULL]), enc([NULL, text('a')]));
    assert.notEqual(enc([bytes(Buffer.from('a'))]), enc([text('a')]));
    assert.notEqual(enc([uint(1)]), enc([num(1)]));
  });

  it('refuse what cannot be encoded faithfully, with a typed error', () => {
    for (const f of [text('a\uD800b'), text('\uDFFF'), uint(-1), uint(1.5), uint(2 ** 53), num(NaN), num(Infinity), text(undefined as unknown as string), bytes('x' as unknown as Buffer)]) {
      assert.equal(code(encodeRecord('x', [f])), 'bad_field', JSON.stringify(f));
    }
  });

  it('decode back to the same values, and decoding any bytes is total', () => {
    const field = fc.oneof(
      fc.constant(NULL), fc.string({ unit: 'grapheme' }).map(text), fc.maxSafeNat().map(uint),
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => num(v === 0 ? 0 : v)), fc.uint8Array({ maxLength: 40 }).map((a) => bytes(Buffer.from(a))),
    );
    fc.assert(fc.property(fc.string({ unit: 'grapheme' }), fc.array(field, { maxLength: 8 }), (domain, fields) => {
      const r = encodeRecord(domain, fields);
      assert.ok(r.ok);
      assert.deepEqual(decodeRecord(r.value), { ok: true, value: { domain, fields } });
      // Every cut inside the last field is an error, never a throw.
      for (let cut = 1; cut < r.value.length; cut++) {
        const d = decodeRecord(r.value.subarray(0, cut));
        if (!d.ok) assert.ok(['truncated', 'bad_encoding'].includes(d.code));
      }
    }));
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (a) => {
      const d = decodeRecord(Buffer.from(a));
      if (!d.ok) assert.ok(['truncated', 'bad_encoding'].includes(d.code));
    }));
  });

  it('refuse text that is not UTF-8, integers over 2^53, -0 and trailing garbage', () => {
    const dom = '0100000001' + '64';
    for (const [h, want] of [
      [dom + '0100000001' + 'ff', 'bad_encoding'], [dom + '02' + '0020000000000000', 'bad_encoding'],
      [dom + '03' + '8000000000000000', 'bad_encoding'], [dom + '07', 'bad_encoding'], [dom + '01000000', 'truncated'], ['00', 'bad_encoding'],
    ] as const) assert.equal(code(decodeRecord(Buffer.from(h, 'hex'))), want, h);
  });

  it('base64url is read strictly and base32 matches RFC 4648', () => {
    assert.equal(toBase32(Buffer.from('foobar')), 'mzxw6ytboi'); // RFC 4648 §10, lowercase, unpadded
    assert.equal(toBase32(Buffer.from('f')), 'my');
    const k = toB64url(alice.signPublic);
    assert.ok(fromB64url(k, 32).ok);
    for (const bad of [`${k}=`, `${k.slice(0, -1)}+`, ` ${k}`, k.slice(0, -1), 7, null]) assert.equal(code(fromB64url(bad, 32)), 'bad_encoding', String(bad));
  });
});

describe('message signatures', () => {
  const vectors = (): Array<{ name: string; m: SignedFields }> => [
    { name: 'lobby message', m: aliceMessage() },
    { name: 'subject null', m: aliceMessage({ subject: null, uid: null }) },
    { name: 'subject empty', m: aliceMessage({ subject: '', uid: '' }) },
    { name: 'non-BMP and combining characters', m: aliceMessage({ username: 'zoë', room: 'café', content: 'naïve 😀 𝄞 e\u0301 中文', subject: '🎓 exam' }) },
    { name: 'largest sequence, whole timestamp', m: aliceMessage({ seq: Number.MAX_SAFE_INTEGER, timestamp: 1767225600 }) },
    { name: 'no box key', m: aliceMessage({ box_key: null }) },
    { name: 'sealed direct message', m: aliceMessage({ to: 'bob', subject: null, content: null, to_peer: bob.peerId, box: Buffer.from(readGolden<{ box: string }>('dm.json').box, 'base64url') }) },
  ];

  it('golden vectors: fixed fields give fixed bytes and fixed signatures', () => {
    golden('messages.json', vectors().map(({ name, m }) => {
      const c = canonicalMessage(m);
      const s = signMessage(alice, m);
      assert.ok(c.ok && s.ok);
      return { name, signer: 'alice', fields: fieldsToJson(m), canonical: c.value.toString('hex'), sig: toB64url(s.value.sig) };
    }));
    for (const v of readGolden<Array<{ name: string; fields: Record<string, unknown>; sig: string }>>('messages.json')) {
      assert.equal(code(verifyMessage(fieldsFromJson(v.fields), alice.signPublic, Buffer.from(v.sig, 'base64url'))), 'ok', v.name);
    }
  });

  it('altering any signed field, or the signature, makes verification fail', () => {
    const dm = vectors().at(-1)!.m;
    const cache = new KeyCache();
    for (const base of [aliceMessage(), dm]) {
      const sig = signMessage(alice, base);
      assert.ok(sig.ok);
      assert.deepEqual(verifyMessage(base, alice.signPublic, sig.value.sig, cache), { ok: true, value: sig.value.link }, 'gives the link hash');
      const alter = (v: unknown, k: string): unknown => {
        if (v === null) return k === 'box' || k === 'box_key' || k === 'prev' ? Buffer.from('x') : 'x';
        if (typeof v === 'string') return `${v}x`;
        if (typeof v === 'number') return v + 1;
        const b = Buffer.from(v as Buffer);
        b[b.length - 1]! ^= 1;
        return b;
      };
      for (const k of Object.keys(base) as Array<keyof SignedFields>) {
        const r = verifyMessage({ ...base, [k]: alter(base[k], k) }, alice.signPublic, sig.value.sig, cache);
        assert.equal(code(r), k === 'origin' ? 'wrong_origin' : 'bad_signature', `altered ${k}`);
        // Made null: a field that may be null fails the signature, one that may not fails to encode.
        if (base[k] !== null && k !== 'origin') assert.ok(['bad_signature', 'bad_field'].includes(code(verifyMessage({ ...base, [k]: null }, alice.signPublic, sig.value.sig, cache))!), `${k} made null`);
      }
      for (let i = 0; i < 64; i += 5) {
        const bent: Buffer = Buffer.from(sig.value.sig);
        bent[i]! ^= 0x10;
        assert.equal(code(verifyMessage(base, alice.signPublic, bent, cache)), 'bad_signature', `signature byte ${i}`);
      }
    }
  });

  it('a message cannot be claimed for another origin: another key, or a re-signed copy, is refused', () => {
    const m = aliceMessage();
    const byBob = signMessage(bob, m);
    assert.equal(code(byBob), 'wrong_origin', 'a peer only signs its own origin');
    // Carol replays alice's message under her own origin, signed by her: it is a new message of
    // carol's, not alice's; under alice's origin with carol's key it is refused.
    const sig = signMessage(carol, { ...m, origin: carol.peerId });
    assert.ok(sig.ok);
    assert.equal(code(verifyMessage(m, carol.signPublic, sig.value.sig)), 'wrong_origin');
    assert.equal(code(verifyMessage({ ...m, origin: carol.peerId }, alice.signPublic, sig.value.sig)), 'wrong_origin');
  });

  it('garbage keys and signatures are typed errors, never throws', () => {
    const m = aliceMessage();
    for (const [key, sig, want] of [
      [Buffer.alloc(3), Buffer.alloc(64), 'bad_key'], ['k' as unknown as Buffer, Buffer.alloc(64), 'bad_key'],
      [alice.signPublic, Buffer.alloc(63), 'bad_signature'], [alice.signPublic, null as unknown as Buffer, 'bad_signature'],
      [alice.signPublic, Buffer.alloc(64), 'bad_signature'],
    ] as const) assert.equal(code(verifyMessage(m, key, sig)), want);
    assert.equal(code(verifyMessage({ ...m, content: 'a\uD800' }, alice.signPublic, Buffer.alloc(64))), 'bad_field');
    assert.equal(code(verifyMessage(null as unknown as SignedFields, alice.signPublic, Buffer.alloc(64))), 'bad_field');
  });

  it('a signed message survives the wire: JSON in a frame, the peer packet parser, then verification', () => {
    const m = aliceMessage({ username: 'zoë', content: 'naïve 😀 𝄞 "quoted" \\ back', subject: 'ünïcode', timestamp: 1767225600.123456 });
    const sig = signMessage(alice, m);
    assert.ok(sig.ok);
    const packet = { type: 'peer-message', ...fieldsToJson(m), key: toB64url(alice.signPublic), sig: toB64url(sig.value.sig) };
    for (const mode of ['base64', 'plain'] as const) {
      const d = decodeFrame(encodeFrame(packet, mode).subarray(0, -1), mode);
      assert.ok(d.ok);
      const p = parsePeerPacket(d.value, DEFAULT_LIMITS);
      assert.equal(p.type, 'peer-message');
      if (p.type !== 'peer-message') return;
      const key = fromB64url(d.value.key, 32);
      const s = fromB64url(d.value.sig, 64);
      const bk = fromB64url(d.value.box_key, 32);
      const prev = fromB64url(d.value.prev, 32);
      assert.ok(key.ok && s.ok && bk.ok && prev.ok);
      const { type: _t, ...fields } = p;
      assert.equal(code(verifyMessage({ ...fields, prev: prev.value, box_key: bk.value, to_peer: null, box: null }, key.value, s.value)), 'ok', mode);
    }
  });

  it('what is signed must be what the receiver parses: a subject signed as "" arrives as null and fails', () => {
    const m = aliceMessage({ subject: '' });
    const sig = signMessage(alice, m);
    assert.ok(sig.ok);
    const p = parsePeerPacket({ type: 'peer-message', ...fieldsToJson(m), key: toB64url(alice.signPublic), sig: toB64url(sig.value.sig) }, DEFAULT_LIMITS);
    assert.ok(p.type === 'peer-message' && p.subject === null);
    assert.equal(code(verifyMessage({ ...m, subject: null }, alice.signPublic, sig.value.sig)), 'bad_signature');
  });

  it('many messages verify on the thread pool, results in input order', async () => {
    const cache = new KeyCache();
    const items = Array.from({ length: 40 }, (_, i) => {
      const m = aliceMessage({ seq: i + 1, content: `m${i}` });
      const sig = signMessage(alice, m);
      assert.ok(sig.ok);
      return { m: i % 7 === 3 ? { ...m, content: 'forged' } : m, key: alice.signPublic, sig: sig.value.sig };
    });
    items.push({ m: aliceMessage(), key: bob.signPublic, sig: Buffer.alloc(64) });
    const r = await verifyMessages(items, cache);
    assert.deepEqual(r.map(code), items.map((_, i) => (i === 40 ? 'wrong_origin' : i % 7 === 3 ? 'bad_signature' : 'ok')));
    assert.equal(cache.size, 2);
  });

  /** `n` messages of `id`'s origin from seq 1, each linked to the one before. */
  function chain(id: PeerIdentity, n: number, first = 1): SignedItem[] {
    const out: SignedItem[] = [];
    let prev: Buffer | null = null;
    for (let seq = first; seq < first + n; seq++) {
      const m = aliceMessage({ origin: id.peerId, seq, gid: `${id.peerId}:${seq}`, content: `m${seq}`, prev, box_key: id.boxPublic });
      const sig = signMessage(id, m);
      assert.ok(sig.ok);
      out.push({ m, key: id.signPublic, sig: sig.value.sig });
      assert.deepEqual(messageLink(m, sig.value.sig), { ok: true, value: sig.value.link });
      prev = sig.value.link;
    }
    return out;
  }

  it('a batch verifies along the hash chain: interleaved origins all pass', () => {
    const a = chain(alice, 30);
    const c = chain(carol, 12);
    const mixed = [...a.slice(0, 10), ...c.slice(0, 6), ...a.slice(10), ...c.slice(6)];
    const r = verifyBatch(mixed, new KeyCache());
    assert.ok(r.every((x) => x.ok));
    // Each result is the message's link hash: what the next message of its origin names as prev.
    const links = new Map(mixed.map((x, i) => [x.m.gid, r[i]!]));
    for (const run of [a, c]) {
      for (let k = 0; k + 1 < run.length; k++) {
        const l = links.get(run[k]!.m.gid)!;
        assert.ok(l.ok && l.value.equals(run[k + 1]!.m.prev!), `${run[k]!.m.gid}`);
      }
    }
  });

  it('a forgery inside a run fails alone; the messages around it still pass on their own signatures', () => {
    const a = chain(alice, 10);
    const forged = a.map((x, i) => (i === 4 ? { ...x, m: { ...x.m, content: 'forged' } } : i === 9 ? { ...x, m: { ...x.m, username: 'teacher' } } : x));
    assert.deepEqual(verifyBatch(forged, new KeyCache()).map(code), ['ok', 'ok', 'ok', 'ok', 'bad_signature', 'ok', 'ok', 'ok', 'ok', 'bad_signature']);
    // A message whose successor links to it, presented with another origin's key: refused.
    const swapped = a.map((x, i) => (i === 2 ? { ...x, key: carol.signPublic } : x));
    assert.equal(code(verifyBatch(swapped, new KeyCache())[2]!), 'wrong_origin');
    // The chain is per origin: carol signs a message that names a forged alice message as its
    // prev; it vouches for nothing of alice's.
    const fake = { ...a[0]!, m: { ...a[0]!.m, content: 'forged' } };
    const link = messageLink(fake.m, fake.sig);
    assert.ok(link.ok);
    const cm = aliceMessage({ origin: carol.peerId, seq: 2, prev: link.value });
    const cs = signMessage(carol, cm);
    assert.ok(cs.ok);
    assert.deepEqual(verifyBatch([fake, { m: cm, key: carol.signPublic, sig: cs.value.sig }], new KeyCache()).map(code), ['bad_signature', 'ok']);
    assert.equal(code(verifyBatch([{ m: null as unknown as SignedFields, key: alice.signPublic, sig: Buffer.alloc(64) }], new KeyCache())[0]!), 'bad_field');
  });

  it('a link hash covers the signature: a run whose signatures were swapped for others fails', () => {
    const a = chain(alice, 5);
    const bent = a.map((x, i) => (i === 1 ? { ...x, sig: a[2]!.sig } : x));
    assert.deepEqual(verifyBatch(bent, new KeyCache()).map(code), ['ok', 'bad_signature', 'ok', 'ok', 'ok']);
  });
});
