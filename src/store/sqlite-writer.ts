/**
 * The SQLite store's writer thread (see WriterThread in sqlite.ts): its own connection to the
 * database file, on which every append and cursor update runs, so that the commit's fsync
 * (synchronous=FULL) blocks this thread instead of the server's event loop. Requests are handled
 * in arrival order, one transaction each, and answered with the same results as inline.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqlite, writeStatements } from './sqlite.js';
import type { Synchronous } from './types.js';

export interface WriterRequest {
  seq: number;
  op: 'append' | 'cursors' | 'close';
  arg: unknown;
}

export interface WriterReply {
  seq: number;
  result?: unknown;
  error?: { message: string; code?: string };
}

const { path, synchronous } = workerData as { path: string; synchronous: Synchronous };
const db = openSqlite(path, synchronous);
const write = writeStatements(db);

parentPort!.on('message', (req: WriterRequest) => {
  let reply: WriterReply;
  try {
    switch (req.op) {
      case 'append':
        reply = { seq: req.seq, result: write.append(req.arg as Parameters<typeof write.append>[0]) };
        break;
      case 'cursors':
        write.setCursors(req.arg as Parameters<typeof write.setCursors>[0]);
        reply = { seq: req.seq };
        break;
      case 'close':
        db.close();
        parentPort!.postMessage({ seq: req.seq } satisfies WriterReply);
        parentPort!.close();
        return;
    }
  } catch (err) {
    const e = err as Error & { code?: string };
    reply = { seq: req.seq, error: { message: e.message, ...(e.code !== undefined ? { code: e.code } : {}) } };
  }
  parentPort!.postMessage(reply);
});
