import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ANSWERS, ClassicSplitter, answer, encodeList, parseRequest, type ClassicRequest } from '../../src/protocol/classic.js';
import { loadScenarios, type FixtureConnection } from '../fixtures/classic/load.js';

const scenarios = loadScenarios();

/** Feeds `parts` and returns the requests (as text, latin1 so any byte survives) and the overload flag. */
function split(parts: Buffer[]): { requests: string[]; overloaded: boolean } {
  const s = new ClassicSplitter();
  const requests: string[] = [];
  let overloaded = false;
  for (const p of parts) {
    const r = s.push(Buffer.from(p)); // a copy: the splitter may keep views of what it is given
    requests.push(...r.requests.map((b) => b.toString('latin1')));
    overloaded = r.overloaded;
  }
  return { requests, overloaded };
}

/** Every way to cut `bytes` in three (two cut points), or in two for long inputs. */
function* cuts(bytes: Buffer): Generator<Buffer[]> {
  if (bytes.length > 300) {
    for (let i = 0; i <= bytes.length; i++) yield [bytes.subarray(0, i), bytes.subarray(i)];
    return;
  }
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j++) yield [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)];
  }
}

/**
 * The board's rules, in memory (docs/classic-board.md): without KEEP%, the requests that came in
 * the write holding the first complete one are answered, then the connection closes; a
 * connection that ends before any complete request answers ERRTimeout!%.
 */
function serve(rows: Array<[number, string]>, conn: FixtureConnection): Buffer {
  const s = new ClassicSplitter();
  const out: Buffer[] = [];
  const handle = (req: ClassicRequest): Buffer => {
    switch (req.type) {
      case 'post':
        rows.push([rows.length + 1, req.text]);
        return answer('posted');
      case 'get':
        return encodeList(req.newest === null ? rows : rows.slice(Math.max(0, rows.length - req.newest)));
      case 'keep':
        return answer('keepAlive');
      case 'invalid-utf8':
        return answer('invalidUtf8');
      case 'unknown':
        return answer('unknown');
    }
  };
  for (const w of conn.writes) {
    const r = s.push(w);
    if (r.requests.length === 0 && !r.overloaded) continue;
    for (const req of r.requests) out.push(handle(parseRequest(req)));
    if (r.requests.length === 0) out.push(answer('overloaded'));
    return Buffer.concat(out);
  }
  return answer('timeout');
}

describe('classic codec: conformance with the recorded answers of the original server', () => {
  for (const sc of scenarios) {
    it(`${sc.group}/${sc.name}: ${sc.about}`, () => {
      const rows: Array<[number, string]> = [[1, 'Server has Started']];
      sc.connections.forEach((conn, k) => {
        const got = serve(rows, conn);
        assert.equal(got.toString('latin1'), conn.expect.answer.toString('latin1'), `connection ${k + 1}${conn.deviation ? ` (deviation: ${conn.deviation})` : ''}`);
      });
    });
  }
});

describe('classic splitter: the same requests whatever the read boundaries', () => {
  for (const sc of scenarios) {
    it(`${sc.group}/${sc.name}`, () => {
      for (const conn of sc.connections) {
        const whole = Buffer.concat(conn.writes);
        const expected = split([whole]);
        for (const parts of cuts(whole)) assert.deepEqual(split(parts), expected, parts.map((p) => p.length).join('+'));
      }
    });
  }

  it('3999 bytes before the % pass, 4000 overload, at every cut', () => {
    const ok = Buffer.from('POST' + 'x'.repeat(3995) + '%GET%');
    const over = Buffer.from('POST' + 'x'.repeat(3996) + '%GET%');
    for (const parts of cuts(ok)) assert.deepEqual(split(parts), { requests: ['POST' + 'x'.repeat(3995), 'GET'], overloaded: false });
    for (const parts of cuts(over)) assert.deepEqual(split(parts), { requests: [], overloaded: true });
  });

  it('counts only the unterminated request towards the limit', () => {
    const s = new ClassicSplitter();
    for (let i = 0; i < 10; i++) assert.equal(s.push(Buffer.from('POST' + 'y'.repeat(3000) + '%')).requests.length, 1);
    assert.equal(s.pending, 0);
    assert.equal(s.push(Buffer.from('z'.repeat(3999))).overloaded, false);
    assert.equal(s.pending, 3999);
    assert.equal(s.push(Buffer.from('z')).overloaded, true);
    assert.deepEqual(s.push(Buffer.from('GET%')), { requests: [], overloaded: true }, 'nothing is read after an overload');
  });

  it('after KEEP%, line breaks before a request are dropped, whatever the read boundaries', () => {
    const input = Buffer.from('\r\nGET%\r\nPOSTtwo\nlines%\n\n%\n');
    for (const parts of cuts(input)) {
      const s = new ClassicSplitter();
      assert.deepEqual(s.push(Buffer.from('KEEP%\r')).requests.map(String), ['KEEP']);
      assert.equal(s.pending, 1);
      s.trimNewlines();
      assert.equal(s.pending, 0, 'a pending line break is not a request being typed');
      const got = parts.flatMap((p) => s.push(Buffer.from(p)).requests.map(String));
      assert.deepEqual(got, ['GET', 'POSTtwo\nlines', '']);
      assert.equal(s.pending, 0);
    }
  });

  it('peek shows the unterminated request, whatever the read boundaries (the trace of a missing %)', () => {
    const input = Buffer.from('GET%POSTcut off');
    for (const parts of cuts(input)) {
      const s = new ClassicSplitter();
      for (const p of parts) s.push(Buffer.from(p));
      assert.equal(s.peek().toString(), 'POSTcut off');
    }
    assert.equal(new ClassicSplitter().peek().length, 0);
  });

  it('several requests in one read and empty requests', () => {
    assert.deepEqual(split([Buffer.from('%%GET%POSTa')]), { requests: ['', '', 'GET'], overloaded: false });
  });
});

describe('classic requests', () => {
  const p = (s: string | Buffer) => parseRequest(Buffer.isBuffer(s) ? s : Buffer.from(s));

  it('POST takes the rest as UTF-8 text, and refuses bytes that are not UTF-8', () => {
    assert.deepEqual(p('POSTHelloDere!'), { type: 'post', text: 'HelloDere!' });
    assert.deepEqual(p('POST'), { type: 'post', text: '' });
    assert.deepEqual(p('POST日本語 😀'), { type: 'post', text: '日本語 😀' });
    assert.deepEqual(p('POST\ufeffbom'), { type: 'post', text: '\ufeffbom' }, 'a BOM is text like any other');
    assert.deepEqual(p(Buffer.from([0x50, 0x4f, 0x53, 0x54, 0xff])), { type: 'invalid-utf8' });
    assert.deepEqual(p(Buffer.from([0x50, 0x4f, 0x53, 0x54, 0xe6, 0x97])), { type: 'invalid-utf8' }, 'a cut-off sequence');
    assert.deepEqual(p(Buffer.from([0x50, 0x4f, 0x53, 0x54, 0xed, 0xa0, 0x80])), { type: 'invalid-utf8' }, 'an encoded surrogate');
  });

  it('GET ignores what follows, except digits alone: GET<n> asks for the newest n', () => {
    assert.deepEqual(p('GET'), { type: 'get', newest: null });
    assert.deepEqual(p('GET all'), { type: 'get', newest: null });
    assert.deepEqual(p('GET 5'), { type: 'get', newest: null });
    assert.deepEqual(p('GET-1'), { type: 'get', newest: null });
    assert.deepEqual(p('GET5'), { type: 'get', newest: 5 });
    assert.deepEqual(p('GET0'), { type: 'get', newest: 0 });
    assert.deepEqual(p('GET007'), { type: 'get', newest: 7 });
    assert.deepEqual(p('GET' + '9'.repeat(16)), { type: 'get', newest: null }, 'more than 15 digits is plain GET');
    assert.deepEqual(p(Buffer.from([0x47, 0x45, 0x54, 0xff])), { type: 'get', newest: null }, 'ignored bytes are not decoded');
  });

  it('KEEP is exactly KEEP; everything else is unknown, case-sensitively', () => {
    assert.deepEqual(p('KEEP'), { type: 'keep' });
    for (const s of ['KEEP ME', 'keep', 'get', 'Post', 'PO', '', ' GET', 'GE']) assert.deepEqual(p(s), { type: 'unknown' }, s);
  });

  it('answers are ASCII and end with %', () => {
    for (const a of Object.values(ANSWERS)) {
      assert.match(a, /^(MSG|ERR)[\x20-\x24\x26-\x7e]*%$/);
    }
    assert.equal(encodeList([]).toString(), 'MSG[]%');
    assert.equal(encodeList([[1, 'Server has Started'], [2, "it's"]]).toString(), `MSG[(1, 'Server has Started'), (2, "it's")]%`);
  });
});
