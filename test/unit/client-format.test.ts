import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChatMessage } from '../../src/client/backend.js';
import { formatJsonLine, formatMessage, formatPipeLine, formatTime, missedSeparator } from '../../src/client/format.js';

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

  it('indents the further lines of multi-line content', () => {
    assert.equal(formatMessage(msg({ content: 'first\nsecond\r\nthird' }), opts), '12:03 bob: first\n      second\n      third');
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
    assert.deepEqual(JSON.parse(line), { id: 1, uid: 'u1', username: 'bob', room: 'lobby', to: null, subject: null, content: 'x\x1b[31m', timestamp: T, missed: true });
  });

  it('the missed separator says how many', () => {
    assert.equal(missedSeparator(12), '── 12 missed while you were away ──');
  });
});
