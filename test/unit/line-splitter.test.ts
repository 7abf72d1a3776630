import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter } from '../../src/protocol/line-splitter.js';

/** Feeds `input` split at every pair of byte boundaries and checks the lines come out the same. */
function splitEverywhere(input: string, max: number): string[][] {
  const bytes = Buffer.from(input);
  const outs: string[][] = [];
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j++) {
      const s = new LineSplitter(max);
      const lines: string[] = [];
      for (const part of [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]) {
        const r = s.push(Buffer.from(part));
        assert.ok(r.ok);
        lines.push(...r.lines.map((l) => l.toString()));
      }
      outs.push(lines);
    }
  }
  return outs;
}

test('lines come out whole whatever the read boundaries', () => {
  const input = 'eyJhIjoxfQ==\n{"b":2}\r\nlast-without-newline';
  for (const lines of splitEverywhere(input, 100)) assert.deepEqual(lines, ['eyJhIjoxfQ==', '{"b":2}']);
});

test('several lines in one read and empty lines', () => {
  const s = new LineSplitter(100);
  const r = s.push(Buffer.from('a\n\nb\r\n'));
  assert.ok(r.ok);
  assert.deepEqual(r.lines.map(String), ['a', '', 'b']);
});

test('a line over the limit is refused even before its newline arrives', () => {
  const s = new LineSplitter(10);
  assert.ok(s.push(Buffer.from('0123456789')).ok);
  const r = s.push(Buffer.from('ab'));
  assert.equal(r.ok, false);
  assert.equal(s.buffered, 0, 'nothing is kept after the refusal');
});

test('a line of exactly the limit passes, with or without \\r', () => {
  for (const end of ['\n', '\r\n']) {
    const s = new LineSplitter(4);
    const r = s.push(Buffer.from('abcd' + end));
    assert.ok(r.ok, end);
    assert.deepEqual(r.lines.map(String), ['abcd']);
  }
  const s = new LineSplitter(4);
  assert.equal(s.push(Buffer.from('abcde\n')).ok, false);
});
