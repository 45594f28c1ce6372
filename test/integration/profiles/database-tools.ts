import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const INSTALLER = join(dirname(fileURLToPath(import.meta.url)), 'install-databases.sh');

function postgresBinDirs(): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort((a, b) => Number(b) - Number(a))
    .map((version) => join(root, version, 'bin'))
    .filter((dir) => existsSync(join(dir, 'initdb')));
}

/** Directories the tools live in: PATH, sbin (mariadbd), and PostgreSQL's versioned bin (Debian keeps it off PATH). */
export function toolPath(): string {
  const dirs = [...postgresBinDirs(), ...(process.env.PATH ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  return [...new Set(dirs.filter(Boolean))].join(':');
}

export function findTool(name: string): string | undefined {
  for (const dir of toolPath().split(':')) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

export interface ToolCheck {
  ok: boolean;
  /** Why the tests cannot run; empty when ok. */
  reason: string;
}

const checked = new Map<string, ToolCheck>();

/**
 * The integration tests run real database servers. When one of `tools` is
 * missing, install-databases.sh installs it (it needs root and apt).
 */
function ensureDatabaseTools(tools: readonly string[]): ToolCheck {
  const key = tools.join(' ');
  const known = checked.get(key);
  if (known) return known;
  const missing = (): string[] => tools.filter((t) => findTool(t) === undefined);
  let result: ToolCheck = { ok: true, reason: '' };
  if (missing().length > 0) {
    let installerSaid = '';
    try {
      execFileSync('/bin/sh', [INSTALLER], { stdio: 'pipe', timeout: 20 * 60_000 });
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      installerSaid = (e.stderr?.toString().trim() || e.message).split('\n').pop() ?? '';
    }
    const still = missing();
    if (still.length > 0) {
      result = {
        ok: false,
        reason: `${still.join(', ')} not installed and install-databases.sh could not install ${still.length === 1 ? 'it' : 'them'}${installerSaid ? `: ${installerSaid}` : ''}`,
      };
    }
  }
  checked.set(key, result);
  return result;
}

/** The switch that skips every database profile suite, and the only thing that does. */
export const SKIP_PROFILES_HINT = 'or skip the database profile tests explicitly: PROFILES=0 npm test';

/**
 * `describe` for a suite that runs real database servers, after making sure
 * their tools are there. A suite that cannot run fails, saying why: skipping
 * quietly would leave CI green with the profiles untested. Only PROFILES=0
 * skips, because someone asked for it.
 */
export function databaseSuite(tools: readonly string[], env: NodeJS.ProcessEnv = process.env): typeof describe {
  if (env.PROFILES === '0') return describe.skip;
  const check = ensureDatabaseTools(tools);
  if (!check.ok) throw new Error(`${check.reason}. Run as root with apt access, ${SKIP_PROFILES_HINT}`);
  return describe;
}
