import type { Logger } from 'pino';

/**
 * SIGINT and SIGTERM run `stop` once (a second signal while stopping is ignored), then the
 * process exits 0: what every long-running command (server, classic board, peer) does.
 */
export function stopOnSignals(log: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void onSignal('SIGINT'));
  process.on('SIGTERM', () => void onSignal('SIGTERM'));
}
