import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatMessage } from '../../src/client/backend.js';
import { formatJsonLine, formatMessage, formatPipeLine, formatTime, mentions, missedSeparator } from '../../src/client/format.js';

const T = Date.UTC(2026, 4, 1, 12, 3, 4) / 1000;
const NOW = Date.UTC(2026, 4, 1, 18, 0, 0);
const msg = (o: Partial<ChatMessage> = {}): ChatMessage => ({
  key: 'r:1', id: 1, uid: 'u1', username: 'bob', subject: null, content: 'hi all', room: 'lobby', to: null, timestamp: T, ...o,
});
const opts = { currentRoom: 'lobby', me: 'alice', now: NOW, timeZone: 'UTC' };

describe('message formatting', () => {
  it('time and sender, nothing else for the current room', () => {
    assert.equal(formatMessage(msg(), opts), '12:03 bob: hi all');
  });

  it('names the room when it is not the current one', () => {
    assert.equal(formatMessage(msg({ room: 'physics' }), opts), '12:03 #physics bob: hi all');
  });

  it('shows the subject in brackets', () => {
    assert.equal(formatMessage(msg({ subject: 'lab 3' }), opts), '12:03 bob [lab 3]: hi all');
  });

  it('direct messages read "bob → you", or the recipient when it is someone else', () => {
    assert.equal(formatMessage(msg({ to: 'alice', room: 'physics' }), opts), '12:03 bob → you: hi all');
    assert.equal(formatMessage(msg({ username: 'alice', to: 'bob' }), opts), '12:03 alice → bob: hi all');
  });

  it('indents the further lines of multi-line content under the text, not under the time', () => {
    assert.equal(formatMessage(msg({ content: 'first\nsecond\r\nthird' }), opts), '12:03 bob: first\n           second\n           third');
  });

  it('wraps a long line to the width, each further row under the text', () => {
    const out = formatMessage(msg({ content: 'the quick brown fox jumps over the lazy dog again and again' }), { ...opts, width: 30 });
    assert.deepEqual(out.split('\n'), ['12:03 bob: the quick brown fox', '           jumps over the lazy', '           dog again and again']);
    for (const row of out.split('\n')) assert.ok(row.length <= 30, row);
    // A word longer than a row is cut; wide characters count two columns.
    const cut = formatMessage(msg({ content: 'x'.repeat(25) }), { ...opts, width: 20 });
    assert.deepEqual(cut.split('\n'), ['12:03 bob: xxxxxxxxx', '          xxxxxxxxxx', '          xxxxxx']);
    const wide = formatMessage(msg({ content: '日本語のテキストです' }), { ...opts, width: 20 });
    assert.deepEqual(wide.split('\n'), ['12:03 bob: 日本語の', '          テキストで', '          す']);
  });

  it('an action reads "* bob waves"; the pipe line too', () => {
    assert.equal(formatMessage(msg({ content: 'waves', action: true }), opts), '12:03 * bob waves');
    assert.equal(formatMessage(msg({ content: 'waves', action: true, to: 'alice' }), opts), '12:03 * bob → you waves');
    assert.equal(formatPipeLine(msg({ content: 'waves', action: true }), 'UTC'), '12:03:04 lobby * bob waves');
  });

  it('a highlight is bold with colours, invisible without; a suffix of ours is dimmed', () => {
    const h = formatMessage(msg({ content: 'alice: look' }), { ...opts, color: true, highlight: true, suffix: ' (delivered)' });
    assert.match(h, /\x1b\[1;7;\d+mbob/);
    assert.match(h, /\x1b\[1malice: look\x1b\[0m\x1b\[2m \(delivered\)\x1b\[0m$/);
    assert.equal(formatMessage(msg({ content: 'alice: look' }), { ...opts, highlight: true }), '12:03 bob: alice: look');
  });

  it('mentions: the name as a word of its own, any case', () => {
    for (const t of ['alice: hi', 'hi @alice', 'ALICE?', 'thanks, Alice.']) assert.equal(mentions(t, 'alice'), true, t);
    for (const t of ['malice', 'alice_b', 'alicent', 'nobody']) assert.equal(mentions(t, 'alice'), false, t);
    assert.equal(mentions('ping a.b please', 'a.b'), true, 'regex characters in a name are literal');
    assert.equal(mentions('ping axb please', 'a.b'), false);
  });

  it('the backlog rule: missed while away on the first connection, delivered after reconnecting later', () => {
    assert.equal(missedSeparator(2), '── 2 missed while you were away ──');
    assert.equal(missedSeparator(3, true), '── 3 delivered after reconnecting ──');
  });

  it('adds the date when the message is not from today', () => {
    assert.equal(formatTime(T, NOW + 86_400_000, 'UTC'), '2026-05-01 12:03');
    assert.equal(formatTime(T, NOW, 'UTC'), '12:03');
  });

  it('strips escapes from every field before printing', () => {
    const evil = msg({ username: 'bob\x1b[2J', room: 'x\x1b]0;t\x07y', subject: 's\u202e', content: 'c\x1b[1Aover' });
    const out = formatMessage(evil, opts);
    assert.equal(out, '12:03 #xy bob [s]: cover');
  });

  it('colours only when asked, and the visible text is the same', () => {
    const coloured = formatMessage(msg({ subject: 's' }), { ...opts, color: true });
    assert.match(coloured, /\x1b\[/);
    assert.equal(coloured.replace(/\x1b\[[0-9;]*m/g, ''), '12:03 bob [s]: hi all');
  });

  it('pipe lines are one line per message, line breaks escaped', () => {
    assert.equal(formatPipeLine(msg({ content: 'a\nb\\n', subject: 'q' }), 'UTC'), '12:03:04 lobby bob [q]: a\\nb\\\\n');
    assert.equal(formatPipeLine(msg({ to: 'alice' }), 'UTC'), '12:03:04 lobby bob → alice: hi all');
  });

  it('JSON lines carry the message and the missed flag', () => {
    const line = formatJsonLine(msg({ content: 'x\x1b[31m' }), true);
    assert.doesNotMatch(line, /\x1b/);
    assert.deepEqual(JSON.parse(line), { id: 1, uid: 'u1', username: 'bob', room: 'lobby', to: null, subject: null, content: 'x\x1b[31m', timestamp: T, missed: true, action: false });
  });

  it('the missed separator says how many', () => {
    assert.equal(missedSeparator(12), '── 12 missed while you were away ──');
  });
});
