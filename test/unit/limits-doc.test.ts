/**
 * Every limit has a default, a flag and a line in docs/security.md: the limits table
 * (src/config/limits.ts) against the document, and against what `lab93 server --help` and
 * `lab93 classic --help` accept.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { LIMIT_ROWS, defaultValue, flagName, formatDefault, parseLimit, type LimitCommand, type LimitRow } from '../../src/config/limits.js';
import { ROOT } from '../helpers/spawn-server.js';

const doc = readFileSync(new URL('../../docs/security.md', import.meta.url), 'utf8');

/** The rows of the table that follows the `limits:` marker in docs/security.md. */
function documentedRows(): Array<{ component: string; flag: string; defaultText: string; defends: string; line: string }> {
  const start = doc.indexOf('<!-- limits:');
  assert.ok(start >= 0, 'docs/security.md has the limits marker');
  const lines = doc.slice(start).split('\n').slice(1);
  const rows = [];
  for (const line of lines.slice(2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const flag = /`(--[a-z-]+)`/.exec(cells[1] ?? '')?.[1] ?? '';
    rows.push({ component: cells[0]!, flag, defaultText: cells[2]!, defends: cells[3]!, line });
  }
  return rows;
}

const docDefault = (r: LimitRow): string => formatDefault(r) + (r.zero ? ` (0: ${r.zero})` : '');

/** The rows whose flags a command takes. */
const rowsOf = (command: LimitCommand): LimitRow[] =>
  LIMIT_ROWS.filter((r) => (command === 'server' ? r.component !== 'peer' : command === 'classic' ? r.component === 'classic' || r.component === 'process' : r.component === 'peer'));

describe('the limits table', () => {
  it('gives every row a numeric default read from its options object, within its own bounds', () => {
    for (const r of LIMIT_ROWS) {
      const v = defaultValue(r);
      assert.ok(Number.isFinite(v), `${r.component} ${r.key}`);
      const parsed = parseLimit(r, String(v), flagName(r, 'server'));
      assert.ok(parsed.ok, `the default of ${flagName(r, 'server')} is a value its flag accepts: ${JSON.stringify(parsed)}`);
    }
  });

  it('has one flag per command for each limit (no two rows share a flag)', () => {
    for (const command of ['server', 'classic', 'peer'] as const) {
      const flags = rowsOf(command).map((r) => flagName(r, command));
      assert.equal(new Set(flags).size, flags.length, `duplicate flags on lab93 ${command}`);
    }
    // `lab93 -r -s …` and `lab93 -b …` are one command line: the server's and the peer's flags side by side.
    const root = [...rowsOf('server').map((r) => flagName(r, 'server')), ...rowsOf('peer').map((r) => flagName(r, 'peer'))];
    assert.equal(new Set(root).size, root.length, 'duplicate flags on the root command (lab93 -r / -b)');
  });

  it('refuses values outside a row\'s bounds in one line naming the flag', () => {
    const share = LIMIT_ROWS.find((r) => r.flag === 'max-address-share')!;
    assert.deepEqual(parseLimit(share, '101', '--max-address-share'), { ok: false, message: '--max-address-share must be from 1 to 100, not "101"' });
    const conns = LIMIT_ROWS.find((r) => r.component === 'server' && r.flag === 'max-connections')!;
    assert.deepEqual(parseLimit(conns, '0', '--max-connections'), { ok: false, message: '--max-connections must be at least 1, not "0"' });
    assert.deepEqual(parseLimit(conns, '2.5', '--max-connections'), { ok: false, message: '--max-connections must be a whole number, not "2.5"' });
    const hello = LIMIT_ROWS.find((r) => r.flag === 'hello-timeout')!;
    assert.deepEqual(parseLimit(hello, '0.5', '--hello-timeout'), { ok: true, value: 500 });
    const retention = LIMIT_ROWS.find((r) => r.flag === 'user-retention')!;
    assert.deepEqual(parseLimit(retention, '0', '--user-retention'), { ok: true, value: 0 });
    assert.deepEqual(parseLimit(retention, '1', '--user-retention'), { ok: true, value: 86_400_000 });
  });
});

describe('docs/security.md, "Limits"', () => {
  const documented = documentedRows();

  it('documents every limit with its flag, component, default and what it defends', () => {
    for (const r of LIMIT_ROWS) {
      const flag = flagName(r, 'server');
      const d = documented.find((x) => x.flag === flag);
      assert.ok(d, `${flag} (${r.component} ${r.key}) is missing from docs/security.md`);
      assert.equal(d.component, r.component, d.line);
      assert.equal(d.defaultText, docDefault(r), `the default of ${flag} in docs/security.md`);
      assert.equal(d.defends, r.defends, `what ${flag} defends, in docs/security.md`);
      if (r.component === 'classic') assert.ok(d.line.includes(`\`${flagName(r, 'classic')}\``), `${flag}: the flag of lab93 classic is named too`);
    }
  });

  it('documents nothing that is not in the table', () => {
    for (const d of documented) assert.ok(LIMIT_ROWS.some((r) => flagName(r, 'server') === d.flag), `docs/security.md documents ${d.flag || d.line}, which the limits table does not have`);
    assert.equal(documented.length, LIMIT_ROWS.length);
  });
});

describe('the commands take every flag of the table', () => {
  /** The help's option entries, one string each (commander may wrap an entry onto more lines). */
  const help = (command: string): string[] => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', command, '--help'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    const entries: string[] = [];
    for (const line of r.stdout.split('\n')) {
      if (/^ {2}-/.test(line)) entries.push(line.trim());
      else if (/^ {3,}\S/.test(line) && entries.length > 0) entries[entries.length - 1] += ` ${line.trim()}`;
    }
    return entries;
  };

  for (const command of ['server', 'classic', 'peer'] as const) {
    it(`lab93 ${command} --help lists each flag with its default`, () => {
      const entries = help(command);
      for (const r of rowsOf(command)) {
        const flag = flagName(r, command);
        const entry = entries.find((e) => e.startsWith(`${flag} <`));
        assert.ok(entry, `lab93 ${command} has ${flag}`);
        // "(default 5 s)", or "(default 5 s; env LAB93_CLASSIC_…)" where the flag has a variable.
        assert.ok(entry.includes(`(default ${formatDefault(r)})`) || entry.includes(`(default ${formatDefault(r)}; env `), `lab93 ${command} ${flag} shows its default ${formatDefault(r)}: ${entry}`);
      }
    });
  }
});
