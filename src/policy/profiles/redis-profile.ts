import type { HookProfile } from './hook-profile.js';
import { DATA_DIR_LINE, script } from './shell-snippets.js';

export const redisProfile: HookProfile = {
  name: 'redis',
  summary: 'Redis and Valkey: BGSAVE writes a fresh point-in-time RDB into the data volume; Redis loads it at start',
  image: '(^|/)(redis|redis-stack-server|valkey)(:|@|$)',
  env: ['REDIS_PASSWORD', 'REDIS_PASSWORD_FILE', 'REDIS_PORT_NUMBER'],
  // The RDB is Redis's own file, not a dump of ours: nothing to clean up.
  dumpFile: undefined,
  backup: {
    // BGSAVE forks and writes the RDB to a temporary file it renames over
    // the old one, so the volume always holds a complete snapshot. The hook
    // waits until LASTSAVE moves past its start (LASTSAVE counts whole
    // seconds, hence the sleep), and refuses when Redis saves outside the
    // data volume, where the backup would not see the RDB.
    pre: {
      shell: script(
        'set -eu',
        DATA_DIR_LINE,
        'pw="${REDIS_PASSWORD:-}"',
        'if [ -z "$pw" ] && [ -n "${REDIS_PASSWORD_FILE:-}" ]; then pw=$(cat "$REDIS_PASSWORD_FILE"); fi',
        'if [ -n "$pw" ]; then export REDISCLI_AUTH="$pw"; fi',
        'port="${REDIS_PORT_NUMBER:-}"',
        'cli() { if [ -n "$port" ]; then redis-cli -p "$port" "$@"; else redis-cli "$@"; fi; }',
        // CONFIG may be renamed away in hardened setups: then no check. Its
        // answer is two lines, "dir" and the absolute path.
        'dir=',
        'if reply=$(cli CONFIG GET dir 2>/dev/null); then case "$reply" in dir?/*) dir=${reply#dir?} ;; esac; fi',
        'case "$dir" in',
        '  "" | "$data" | "$data"/*) ;;',
        '  *) echo "redis saves its RDB into $dir, which is not on the data volume $data" >&2; exit 1 ;;',
        'esac',
        'before=$(cli LASTSAVE)',
        'sleep 1',
        // SCHEDULE: when an AOF rewrite is running, save right after it
        // instead of failing. A save already in progress is waited for.
        'cli BGSAVE SCHEDULE >/dev/null 2>&1 || true',
        'until [ "$(cli LASTSAVE)" -gt "$before" ]; do',
        '  case "$(cli INFO persistence)" in',
        '    *rdb_bgsave_in_progress:1* | *aof_rewrite_in_progress:1*) ;;',
        '    *) if [ "$(cli LASTSAVE)" -gt "$before" ]; then break; fi',
        '       echo "redis background save did not run or failed" >&2; exit 1 ;;',
        '  esac',
        '  sleep 1',
        'done',
        `cli INFO persistence | grep -q '^rdb_last_bgsave_status:ok'`,
      ),
      // The previous RDB on the volume is still complete and consistent, so
      // a failed save makes the backup older, never torn.
      onError: 'Continue',
      timeout: '10m',
    },
  },
  // Redis loads the RDB from its data directory when it starts.
  restore: {},
};
