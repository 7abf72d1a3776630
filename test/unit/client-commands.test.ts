import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommand } from '../../src/client/ui/commands.js';

describe('slash commands', () => {
  it('a plain line is a message; blank lines are nothing', () => {
    assert.deepEqual(parseCommand('hello there'), { kind: 'say', text: 'hello there' });
    assert.deepEqual(parseCommand('   '), { kind: 'empty' });
    assert.deepEqual(parseCommand('  indented stays  '), { kind: 'say', text: '  indented stays' });
  });

  it('// sends a line that starts with /', () => {
    assert.deepEqual(parseCommand('//etc/passwd is a file'), { kind: 'say', text: '/etc/passwd is a file' });
  });

  it('/quit, /help and their aliases, any case', () => {
    assert.deepEqual(parseCommand('/quit'), { kind: 'quit' });
    assert.deepEqual(parseCommand('/Q'), { kind: 'quit' });
    assert.deepEqual(parseCommand('/help'), { kind: 'help' });
    assert.deepEqual(parseCommand('/?'), { kind: 'help' });
  });

  it('/subject takes one word, or a quoted subject, then the message', () => {
    assert.deepEqual(parseCommand('/subject lab3 anyone done?'), { kind: 'subject', subject: 'lab3', text: 'anyone done?' });
    assert.deepEqual(parseCommand('/subject "lab 3" anyone done?'), { kind: 'subject', subject: 'lab 3', text: 'anyone done?' });
    assert.equal(parseCommand('/subject onlysubject').kind, 'usage');
    assert.equal(parseCommand('/subject "unclosed text').kind, 'usage');
  });

  it('/topic sets a sticky subject (spaces allowed); alone it clears', () => {
    assert.deepEqual(parseCommand('/topic exam week'), { kind: 'topic', subject: 'exam week' });
    assert.deepEqual(parseCommand('/topic "quoted"'), { kind: 'topic', subject: 'quoted' });
    assert.deepEqual(parseCommand('/topic'), { kind: 'topic', subject: null });
  });

  it('/join needs one valid room name (a leading # is fine)', () => {
    assert.deepEqual(parseCommand('/join physics'), { kind: 'join', room: 'physics' });
    assert.deepEqual(parseCommand('/join #physics'), { kind: 'join', room: 'physics' });
    assert.equal(parseCommand('/join').kind, 'usage');
    assert.equal(parseCommand('/join two words').kind, 'usage');
    assert.equal(parseCommand('/join ' + 'x'.repeat(65)).kind, 'usage');
  });

  it('/leave the current room, or a named one', () => {
    assert.deepEqual(parseCommand('/leave'), { kind: 'leave', room: null });
    assert.deepEqual(parseCommand('/leave #physics'), { kind: 'leave', room: 'physics' });
  });

  it('/msg needs a user and some text', () => {
    assert.deepEqual(parseCommand('/msg bob see you  at 5'), { kind: 'msg', to: 'bob', text: 'see you  at 5' });
    assert.equal(parseCommand('/msg bob').kind, 'usage');
    assert.equal(parseCommand('/msg').kind, 'usage');
  });

  it('/who and /history [n]', () => {
    assert.deepEqual(parseCommand('/who'), { kind: 'who', room: null });
    assert.deepEqual(parseCommand('/history'), { kind: 'history', limit: 20 });
    assert.deepEqual(parseCommand('/history 5'), { kind: 'history', limit: 5 });
    assert.deepEqual(parseCommand('/history 999999'), { kind: 'history', limit: 1000 });
    assert.equal(parseCommand('/history zero').kind, 'usage');
    assert.equal(parseCommand('/history 0').kind, 'usage');
  });

  it('/scan and /peers parse in every mode (the UI decides what they do)', () => {
    assert.deepEqual(parseCommand('/scan'), { kind: 'scan' });
    assert.deepEqual(parseCommand('/peers'), { kind: 'peers' });
  });

  it('an unknown command is reported by name', () => {
    assert.deepEqual(parseCommand('/frobnicate now'), { kind: 'unknown', name: 'frobnicate' });
  });
});
