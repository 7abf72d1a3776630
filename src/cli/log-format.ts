/** `--log-format`, shared by the commands that log (server, classic board, peer). */
import { Option } from 'commander';
import type { LogFormat } from '../log/index.js';

export function logFormatOption(): Option {
  return new Option('--log-format <format>', 'logs on stderr: pretty (readable lines), json (one JSON object per line), or auto: pretty on a terminal, json otherwise (default auto)')
    .choices(['auto', 'json', 'pretty'])
    .env('LAB93_LOG_FORMAT');
}

export type LogFormatFlag = LogFormat | 'auto';
