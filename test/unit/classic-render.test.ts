import { test } from 'node:test';
import assert from 'node:assert/strict';
import { START_UID, boardText } from '../../src/gateway/board.js';
import { pyReprTuple } from '../../src/protocol/pyrepr.js';
import type { StoredMessage } from '../../src/store/types.js';

const m = (over: Partial<StoredMessage>): StoredMessage => ({
  id: 1, uid: null, username: 'alice', room: 'lobby', to: null, subject: null, content: 'hi', timestamp: 0, remote: null, ...over,
});

test('board posts and the start message show as they are; chat messages as "name: text"', () => {
  assert.equal(boardText(m({ username: 'classic@10.0.0.7', content: 'HelloDere!' })), 'HelloDere!');
  assert.equal(boardText(m({ username: 'server', uid: START_UID, content: 'Server has Started' })), 'Server has Started');
  assert.equal(boardText(m({ username: 'server', uid: 'x1', content: 'I am a chat user' })), 'server: I am a chat user', 'only the board itself is anonymous');
  assert.equal(boardText(m({ content: 'hello' })), 'alice: hello');
  assert.equal(boardText(m({ subject: 'poll', content: 'yes' })), 'alice: [poll] yes');
});

test('a % in a chat message cannot end the GET answer early', () => {
  const text = boardText(m({ subject: '50%', content: '100% sure' }));
  assert.equal(text, 'alice: [50\uff05] 100\uff05 sure');
  assert.equal(pyReprTuple(3, text).includes('%'), false);
});
