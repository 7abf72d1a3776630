/**
 * The limit flags of `lab93 server`, `lab93 classic` and `lab93 peer`, made from the limits table
 * (src/config/limits.ts): one row, one flag, its default in the help, its value checked once.
 */
import { Option, type Command } from 'commander';
import { envName, flagName, formatDefault, limitRows, parseLimit, setOption, type Component, type LimitCommand, type LimitRow } from '../config/limits.js';
import { UsageError } from './usage.js';

const PLACEHOLDER: Record<LimitRow['unit'], string> = {
  bytes: '<bytes>', characters: '<n>', count: '<n>', seconds: '<seconds>', days: '<days>', percent: '<percent>', 'per second': '<n>',
};

/** The key commander stores a flag's value under: --classic-max-connections -> classicMaxConnections. */
function attribute(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Adds the flags of these components' limits to `cmd`, as `command` names them. */
export function addLimitFlags(cmd: Command, command: LimitCommand, components: Component[]): Command {
  for (const c of components) {
    for (const r of limitRows(c)) {
      const zero = r.zero ? `, 0 for ${r.zero}` : '';
      // The root command (`lab93 -r … / -b …`) lists the peer's flags beside the server's.
      const only = r.component === 'peer' ? 'with -b: ' : '';
      const opt = new Option(`${flagName(r, command)} ${PLACEHOLDER[r.unit]}`, `${only}${r.help}${zero} (default ${formatDefault(r)})`);
      const env = envName(r);
      cmd.addOption(env ? opt.env(env) : opt);
    }
  }
  return cmd;
}

/**
 * The options a component's limit flags set, as a partial options object (only the flags given);
 * a bad value is a UsageError naming the flag.
 */
export function readLimitFlags(flags: object, command: LimitCommand, component: Component): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of limitRows(component)) {
    const flag = flagName(r, command);
    const text = (flags as Record<string, unknown>)[attribute(flag)];
    if (text === undefined) continue;
    const parsed = parseLimit(r, String(text), flag);
    if (!parsed.ok) throw new UsageError(parsed.message);
    setOption(out, r, parsed.value);
  }
  return out;
}
