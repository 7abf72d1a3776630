/** The JSON the bench writes (bench/results/bench-<time>.json) and the table is printed from. */
import type { CatchUpResult } from '../scenarios/catchup.js';
import type { ClassicResult } from '../scenarios/classic.js';
import type { ConnectionsResult } from '../scenarios/connections.js';
import type { FanoutParams, FanoutResult } from '../scenarios/fanout.js';
import type { IngestResult } from '../scenarios/ingest.js';

export interface Target {
  name: string;
  target: string;
  measured: string;
  /** null when it could not be measured in this run (a peer missing, a section skipped). */
  pass: boolean | null;
}

export interface Results {
  meta: {
    started: string;
    finished?: string;
    quick: boolean;
    node: string;
    cpus: number;
    commit: string;
    loadAtStart: number;
    loadAtEnd?: number;
    fanout: Omit<FanoutParams, 'profileDir'>;
    command: string;
    missing: Array<{ server: string; install: string }>;
  };
  fanout: FanoutResult[];
  connections: ConnectionsResult[];
  ingest?: IngestResult;
  catchup?: CatchUpResult;
  classic?: ClassicResult;
  targets: Target[];
}
