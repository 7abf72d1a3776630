/** The hints catalogue: each diagnosis names the mistake students make, and the report's exit status. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diagnoseFrame, HINTS, nearMiss } from '../../src/protocol/hints.js';
import { hintFor } from '../../src/teach/trace.js';
import { exitStatus, type CaseResult } from '../../src/teach/report.js';

describe('hints', () => {
  it('tells str(dict) and JSON-without-base64 apart', () => {
    assert.equal(diagnoseFrame(Buffer.from("{'type': 'hello'}"), 'base64'), 'python-str-dict');
    assert.equal(diagnoseFrame(Buffer.from('{"type":"hello"}'), 'base64'), 'json-without-base64');
    assert.equal(diagnoseFrame(Buffer.from('{"type":"hello"}'), 'plain'), null);
    assert.equal(diagnoseFrame(Buffer.from('!!'), 'base64'), null);
  });
  it('names near-miss fields', () => {
    for (const k of ['user', 'name']) assert.equal(nearMiss({ type: 'hello', [k]: 'x' }, 'username'), `"${k}": did you mean \`username\`?`);
    for (const k of ['msg', 'text']) assert.equal(nearMiss({ type: 'message', [k]: 'x' }, 'content'), `"${k}": did you mean \`content\`?`);
    assert.equal(nearMiss({ type: 'hello', username: 'a', name: 'b' }, 'username'), null);
  });
  it('hello_timeout: the newline when a frame was begun, hello first when none was, nothing while a hello is being checked', () => {
    const hello = Buffer.from('{"type":"hello","username":"a"}');
    assert.equal(hintFor('hello_timeout', null, 'base64', 56), HINTS['no-newline'].hint);
    assert.equal(hintFor('hello_timeout', Buffer.from('{"type":"ping"}'), 'plain', 0), HINTS['message-before-hello'].hint);
    assert.equal(hintFor('hello_timeout', hello, 'plain', 0), null);
    assert.equal(hintFor('idle_timeout', hello, 'plain'), HINTS['no-pong'].hint);
    assert.equal(hintFor('idle_timeout', hello, 'plain', 20), HINTS['no-newline'].hint);
    assert.equal(hintFor('bad_packet', Buffer.from('{"type":"hello","user":"a"}'), 'plain'), '"user": did you mean `username`?');
  });
  it('a failed optional case does not fail the run; a failed required one does', () => {
    const row = (level: 'required' | 'optional', status: 'pass' | 'fail' | 'not attempted'): CaseResult => ({ name: 'x', level, status, expected: '', mistake: '', section: '', observed: '', excerpt: [] });
    assert.equal(exitStatus([row('optional', 'fail'), row('required', 'not attempted')]), 0);
    assert.equal(exitStatus([row('required', 'fail')]), 1);
  });
});
