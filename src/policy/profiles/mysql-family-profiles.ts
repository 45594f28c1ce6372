import type { HookProfile } from './hook-profile.js';
import { COMMIT_DUMP, importPreamble, PICK_TOOL, removeDumpHook, script, waitUntil } from './shell-snippets.js';

// MySQL and MariaDB share one procedure; the two profiles differ in the
// images they recognise and in which env names they read first. Both try
// the mariadb-* tools first: MariaDB 11 images no longer ship the mysql*
// names, MySQL images never had mariadb-*, and MariaDB 10 has both.

interface Flavor {
  name: 'mysql' | 'mariadb';
  summary: string;
  image: string;
  /** Env prefixes in order of preference; MariaDB images accept both. */
  envPrefixes: readonly [string, string];
}

/** A plain file at the top of the data directory: a sub-directory there would look like a database to MySQL 5.7. */
export const MYSQL_DUMP_FILE = '.wutong-backup-mysql.sql';

/**
 * Root when its password is known (a full dump needs it), else the
 * application user. The password goes to the client through MYSQL_PWD, which
 * both MySQL and MariaDB clients read, so it never appears in a process list.
 */
function credentials([a, b]: readonly [string, string]): string {
  return [
    `pw="\${${a}_ROOT_PASSWORD:-\${${b}_ROOT_PASSWORD:-}}"`,
    `pwfile="\${${a}_ROOT_PASSWORD_FILE:-\${${b}_ROOT_PASSWORD_FILE:-}}"`,
    'if [ -z "$pw" ] && [ -n "$pwfile" ]; then pw=$(cat "$pwfile"); fi',
    'user=root',
    `if [ -z "$pw" ] && [ -n "\${${a}_USER:-\${${b}_USER:-}}" ]; then`,
    `  user="\${${a}_USER:-\${${b}_USER:-}}"`,
    `  pw="\${${a}_PASSWORD:-\${${b}_PASSWORD:-}}"`,
    'fi',
    'export MYSQL_PWD="$pw"',
  ].join('\n');
}

function envNames([a, b]: readonly [string, string]): string[] {
  return [a, b].flatMap((p) => [`${p}_ROOT_PASSWORD`, `${p}_ROOT_PASSWORD_FILE`, `${p}_USER`, `${p}_PASSWORD`]);
}

function mysqlFamilyProfile(flavor: Flavor): HookProfile {
  return {
    name: flavor.name,
    summary: flavor.summary,
    image: flavor.image,
    env: envNames(flavor.envPrefixes),
    dumpFile: MYSQL_DUMP_FILE,
    backup: {
      // --single-transaction reads every InnoDB table in one consistent
      // snapshot without blocking writers. No FLUSH TABLES WITH READ LOCK:
      // Velero runs each hook as its own exec, and the lock would be gone
      // when this client exits, long before the volume is read.
      pre: {
        shell: script(
          'set -eu',
          `out={{dataDir}}/${MYSQL_DUMP_FILE}`,
          PICK_TOOL,
          credentials(flavor.envPrefixes),
          'dump=$(pick mariadb-dump mysqldump)',
          `trap 'rm -f "$out.tmp"' EXIT`,
          'set -- --user="$user" --single-transaction --quick --routines --events --triggers --hex-blob --all-databases --flush-privileges --max-allowed-packet=1G',
          // MySQL's mysqldump records GTID_PURGED, which the import would
          // refuse on a server that has run transactions since; MariaDB's
          // tool has no such option.
          `if "$dump" --help 2>/dev/null | grep -q -- '--set-gtid-purged'; then set -- "$@" --set-gtid-purged=OFF; fi`,
          '"$dump" "$@" > "$out.tmp"',
          COMMIT_DUMP,
        ),
        onError: 'Fail',
        timeout: '30m',
      },
    },
    restore: {
      // The server starts on the files file-system backup restored; once it
      // accepts connections the dump replaces their contents with the
      // consistent copy, then is removed so a later restart does not import
      // it again.
      post: {
        shell: script(
          ...importPreamble(MYSQL_DUMP_FILE),
          PICK_TOOL,
          credentials(flavor.envPrefixes),
          'client=$(pick mariadb mysql)',
          'admin=$(pick mariadb-admin mysqladmin)',
          // mysqladmin ping succeeds as soon as the server answers, even
          // before it would accept these credentials.
          waitUntil('"$admin" --user="$user" ping', 'the database server', 600),
          '"$client" --user="$user" --max-allowed-packet=1G < "$dump"',
          'rm -f "$dump"',
          'echo "imported $dump"',
        ),
        onError: 'Fail',
        execTimeout: '1h',
        waitTimeout: '10m',
      },
    },
    cleanup: removeDumpHook(MYSQL_DUMP_FILE),
  };
}

export const mysqlProfile = mysqlFamilyProfile({
  name: 'mysql',
  summary: 'MySQL and Percona: mysqldump --single-transaction of every database; imported back after restore',
  image: '(^|/)(mysql|mysql-server|percona|percona-server)(:|@|$)',
  envPrefixes: ['MYSQL', 'MARIADB'],
});

export const mariadbProfile = mysqlFamilyProfile({
  name: 'mariadb',
  summary: 'MariaDB: mariadb-dump --single-transaction of every database; imported back after restore',
  image: '(^|/)mariadb(:|@|$)',
  envPrefixes: ['MARIADB', 'MYSQL'],
});
