import type { HookProfile } from './hook-profile.js';
import { COMMIT_DUMP, importPreamble, removeDumpHook, script, waitUntil } from './shell-snippets.js';

export const POSTGRESQL_DUMP_FILE = '.wutong-backup-postgresql.sql';

/**
 * A superuser when one is known: pg_dumpall must read every database and
 * the roles. Official images name it POSTGRES_USER; Bitnami images keep the
 * superuser "postgres" apart from POSTGRESQL_USERNAME when
 * POSTGRESQL_POSTGRES_PASSWORD is set. Local socket connections are trusted
 * in the official image; PGPASSWORD covers the others.
 */
const CREDENTIALS = [
  'user="${POSTGRES_USER:-${POSTGRESQL_USERNAME:-postgres}}"',
  'pw="${POSTGRES_PASSWORD:-${POSTGRESQL_PASSWORD:-}}"',
  'pwfile="${POSTGRES_PASSWORD_FILE:-${POSTGRESQL_PASSWORD_FILE:-}}"',
  'if [ -n "${POSTGRESQL_POSTGRES_PASSWORD:-}" ]; then user=postgres; pw="$POSTGRESQL_POSTGRES_PASSWORD"; fi',
  'if [ -z "$pw" ] && [ -n "$pwfile" ]; then pw=$(cat "$pwfile"); fi',
  'if [ -n "$pw" ]; then export PGPASSWORD="$pw"; fi',
].join('\n');

export const postgresqlProfile: HookProfile = {
  name: 'postgresql',
  summary: 'PostgreSQL (official, Bitnami, PostGIS): pg_dumpall of every database and role; imported back after restore',
  image: '(^|/)(postgres|postgresql|postgis)(:|@|$)',
  env: [
    'POSTGRES_USER',
    'POSTGRES_PASSWORD',
    'POSTGRES_PASSWORD_FILE',
    'POSTGRESQL_USERNAME',
    'POSTGRESQL_PASSWORD',
    'POSTGRESQL_PASSWORD_FILE',
    'POSTGRESQL_POSTGRES_PASSWORD',
  ],
  dumpFile: POSTGRESQL_DUMP_FILE,
  backup: {
    // Each database is dumped from one MVCC snapshot without blocking
    // writers; --clean --if-exists makes the dump replace what it restores.
    pre: {
      shell: script(
        'set -eu',
        `out={{dataDir}}/${POSTGRESQL_DUMP_FILE}`,
        CREDENTIALS,
        `trap 'rm -f "$out.tmp"' EXIT`,
        'pg_dumpall --username="$user" --clean --if-exists > "$out.tmp"',
        COMMIT_DUMP,
      ),
      onError: 'Fail',
      timeout: '30m',
    },
  },
  restore: {
    // The dump drops and recreates every database, so clients the
    // application opened meanwhile would make DROP DATABASE fail:
    // PostgreSQL >= 13 ends them (WITH (FORCE)). Two errors are expected
    // from any pg_dumpall script replayed by its own superuser (it cannot
    // drop or create itself); any other error fails the hook.
    post: {
      shell: script(
        ...importPreamble(POSTGRESQL_DUMP_FILE),
        CREDENTIALS,
        waitUntil('pg_isready --username="$user" --dbname=postgres', 'PostgreSQL', 600),
        'err=$(mktemp)',
        `trap 'rm -f "$err"' EXIT`,
        `version=$(psql -X -At --username="$user" --dbname=postgres -c 'SHOW server_version_num')`,
        'rewrite=',
        `if [ "$version" -ge 130000 ]; then rewrite='s/^\\(DROP DATABASE .*\\);$/\\1 WITH (FORCE);/'; fi`,
        'sed "$rewrite" "$dump" | psql -X -q --username="$user" --dbname=postgres -f - >/dev/null 2>"$err" || { cat "$err" >&2; exit 1; }',
        `if grep 'ERROR:' "$err" | grep -v -e 'current user cannot be dropped' -e "role \\"$user\\" already exists" >&2; then`,
        '  echo "import of $dump failed" >&2',
        '  exit 1',
        'fi',
        'rm -f "$dump"',
        'echo "imported $dump"',
      ),
      onError: 'Fail',
      execTimeout: '1h',
      waitTimeout: '10m',
    },
  },
  cleanup: removeDumpHook(POSTGRESQL_DUMP_FILE),
};
