/**
 * Honest names (src/auth/names.ts): the look-alikes of issue 9 share a key or a skeleton with
 * the real name or are refused outright, with a message that says why; honest names of every
 * script pass; the checks are total (a value or a bad_packet, never another throw).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CLASSIC_PREFIX, checkName, checkUsername, nameKeys, skeleton } from '../../src/auth/names.js';
import { KNOWN_SCRIPTS, mixedScripts, scriptsOf } from '../../src/auth/scripts.js';
import { ProtocolError } from '../../src/protocol/errors.js';

const refused = (raw: string, why: RegExp): void => {
  assert.throws(() => checkUsername(raw, 32), (err: unknown) => err instanceof ProtocolError && err.code === 'bad_packet' && why.test(err.message), `${JSON.stringify(raw)} is refused (${why})`);
};

describe('honest names', () => {
  const alice = nameKeys('alice');

  it('Alice and ALICE are the same name as alice (one key)', () => {
    for (const n of ['Alice', 'ALICE', 'aLiCe', 'ａｌｉｃｅ']) {
      const k = checkUsername(n, 32);
      assert.equal(k.key, alice.key, n);
      assert.equal(k.skeleton, alice.skeleton, `${n}: one key, one skeleton`);
    }
    assert.equal(checkUsername('ａｌｉｃｅ', 32).name, 'alice', 'fullwidth letters are normalised (NFKC)');
  });

  it('a1ice, aIice-like and other same-script look-alikes share the skeleton of alice', () => {
    for (const n of ['a1ice', 'ɑlice', 'alıce']) assert.equal(checkUsername(n, 32).skeleton, alice.skeleton, n);
    assert.notEqual(checkUsername('alicia', 32).skeleton, alice.skeleton);
  });

  it('аlice with a Cyrillic а mixes scripts and is refused', () => {
    refused('аlice', /mixes Cyrillic and Latin/);
    // Its skeleton is alice's too, so even where mixing were allowed it could not pass as new.
    assert.equal(skeleton('аlice'), alice.skeleton);
  });

  it('alice followed by an invisible mark (U+034F, U+FE0F) is refused', () => {
    refused('alice\u034f', /invisible or blank character \(U\+034F\)/);
    refused('alice\ufe0f', /invisible or blank character \(U\+FE0F\)/);
    refused('al\u200dice', /control characters|invisible/);
  });

  it('blank-looking names (U+3164, U+2800, other fillers) are refused', () => {
    for (const [ch, cp] of [['\u3164', 'U+3164'], ['\u2800', 'U+2800'], ['\uffa0', 'U+FFA0'], ['\u115f', 'U+115F']] as const) {
      refused(ch, new RegExp(`invisible or blank character \\(${cp.replace('+', '\\+')}`));
      refused(`bob${ch}`, /invisible or blank/);
    }
  });

  it('combining-only names, a leading combining mark and stacked marks are refused', () => {
    refused('\u0301\u0301', /only combining marks/);
    refused('\u0301bob', /begins with a combining mark \(U\+0301\)/);
    refused(`b${'\u0301'.repeat(5)}ob`, /stacks more than 4 combining marks/);
    assert.equal(checkUsername('José'.normalize('NFD'), 32).name, 'José'.normalize('NFKC'), 'a mark on a letter is fine, and normalised');
  });

  it('names of one script, and the mixes that writing systems use, pass', () => {
    for (const n of ['алиса', 'Σωκράτης', 'محمد', 'דוד', '山田太郎', 'やまだ', '김철수', 'tanaka太郎', 'ÅsaÖberg', 'bob_42', 'x.y-z']) {
      assert.doesNotThrow(() => checkUsername(n, 32), n);
    }
    assert.deepEqual(mixedScripts('Σigma'), ['Greek', 'Latin']);
  });

  it('classic@ belongs to the board, in any case or look-alike spelling', () => {
    for (const n of [`${CLASSIC_PREFIX}10.0.0.1`, 'CLASSIC@10.0.0.1', 'Classic@x', 'c1assic@x']) refused(n, /reserved for the classic board/);
    assert.doesNotThrow(() => checkUsername('classical', 32));
    // A room may be called so: the reservation is for users.
    assert.doesNotThrow(() => checkName('classic@room', 'room', 64));
  });

  it('length and spaces are checked after normalisation', () => {
    refused('\ufdfa', /must not contain spaces/);
    assert.throws(() => checkName('ｘ'.repeat(33), 'room', 32), /room: longer than 32/);
  });

  it('messages name the field', () => {
    assert.throws(() => checkName('\u3164', 'rooms', 64), /^Error: rooms: /);
  });

  it('every letter of this Unicode belongs to a listed script (the script list is complete)', () => {
    const unlisted = new Map<string, number>();
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp < 0xe000) continue;
      const ch = String.fromCodePoint(cp);
      if (!/\p{L}/u.test(ch)) continue;
      const s = scriptsOf(ch);
      if (s && s[0]!.startsWith('U+')) unlisted.set(s[0]!, cp);
    }
    assert.deepEqual([...unlisted.keys()].slice(0, 5), [], `letters of scripts missing from scripts.ts (${KNOWN_SCRIPTS.length} known)`);
  });

  it('is total: any string gives a name or a bad_packet, and a name checks to itself', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (raw) => {
        let n;
        try {
          n = checkUsername(raw, 32);
        } catch (err) {
          assert.ok(err instanceof ProtocolError && err.code === 'bad_packet', String(err));
          return;
        }
        const again = checkUsername(n.name, 32);
        assert.deepEqual(again, n, 'normalising twice changes nothing');
        assert.equal(skeleton(n.key), n.skeleton);
      }),
      { numRuns: 2000 },
    );
  });
});
