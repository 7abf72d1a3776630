/**
 * The terminal front end of lab93, for any ChatBackend (repeater connection or broadcast peer).
 *
 * runChatUi owns the backend's lifecycle: it subscribes to the backend's events, shows
 * backend.recent() (the local history, even when nothing is reachable), calls backend.start(),
 * runs until /quit, Ctrl-D, Ctrl-C on an empty line, or (pipe mode) the end of the input, then
 * calls backend.close() and resolves with the process exit status.
 */
import type { ChatBackend } from '../backend.js';
import type { ChatUiOptions } from './options.js';
import { runPipe } from './pipe.js';
import { runTerminal } from './terminal.js';

export type { ChatUiOptions } from './options.js';
export { parseCommand, HELP_LINES, type Command } from './commands.js';

/**
 * Runs the chat UI on `backend`: interactive when input and output are a terminal, pipe mode otherwise
 * (one message per input line, one line per message received). Resolves with an exit status:
 * 0, or 1 in pipe mode when a message was refused or not acknowledged in time.
 */
export async function runChatUi(backend: ChatBackend, opts: ChatUiOptions = {}): Promise<number> {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  // Output redirected to a file is a pipe too: no prompt or cursor movement in the file.
  const pipe = opts.pipe ?? !(input.isTTY && output.isTTY);
  return pipe ? runPipe(backend, opts) : runTerminal(backend, opts);
}
