import type { HookProfile } from './hook-profile.js';
import { COMMIT_DUMP, importPreamble, PICK_TOOL, removeDumpHook, script } from './shell-snippets.js';

export const MONGODB_DUMP_FILE = '.wutong-backup-mongodb.archive';

/** Root credentials of the official image (MONGO_INITDB_ROOT_*) or of Bitnami's (MONGODB_ROOT_*; its root user is "root"). */
const CREDENTIALS = [
  'user="${MONGO_INITDB_ROOT_USERNAME:-${MONGODB_ROOT_USER:-}}"',
  'pw="${MONGO_INITDB_ROOT_PASSWORD:-${MONGODB_ROOT_PASSWORD:-}}"',
  'if [ -z "$user" ] && [ -n "${MONGO_INITDB_ROOT_USERNAME_FILE:-}" ]; then user=$(cat "$MONGO_INITDB_ROOT_USERNAME_FILE"); fi',
  'if [ -z "$pw" ] && [ -n "${MONGO_INITDB_ROOT_PASSWORD_FILE:-}" ]; then pw=$(cat "$MONGO_INITDB_ROOT_PASSWORD_FILE"); fi',
  'if [ -z "$user" ] && [ -n "$pw" ]; then user=root; fi',
  'port="${MONGODB_PORT_NUMBER:-27017}"',
].join('\n');

/**
 * Connection options for `tool` in "$@". The password goes into a private
 * --config file when the tool supports one (Database Tools >= 100.3), so it
 * is not in the process list; older tools only take --password.
 */
function connectionOptions(tool: string): string {
  return [
    'cfg=',
    'set -- --port="$port"',
    'if [ -n "$user" ]; then',
    `  if ${tool} --help 2>&1 | grep -q -- '--config'; then`,
    '    cfg=$(mktemp)',
    `    printf "password: '%s'\\n" "$(printf '%s' "$pw" | sed "s/'/''/g")" > "$cfg"`,
    '    set -- "$@" --username="$user" --config="$cfg" --authenticationDatabase=admin',
    '  else',
    '    set -- "$@" --username="$user" --password="$pw" --authenticationDatabase=admin',
    '  fi',
    'fi',
  ].join('\n');
}

/** Prints standalone, primary, secondary or other (electing, arbiter...). hello() needs no authentication. */
const ROLE_JS =
  'var h = db.hello ? db.hello() : db.isMaster(); print(!h.setName ? "standalone" : (h.isWritablePrimary || h.ismaster) ? "primary" : h.secondary ? "secondary" : "other")';
const ROLE = `role() { "$shell" --quiet --port="$port" --eval '${ROLE_JS}' 2>/dev/null; }`;

export const mongodbProfile: HookProfile = {
  name: 'mongodb',
  summary: 'MongoDB: mongodump archive of every database (point in time on replica sets); mongorestore --drop after restore',
  image: '(^|/)(mongo|mongodb|mongodb-community-server)(:|@|$)',
  env: [
    'MONGO_INITDB_ROOT_USERNAME',
    'MONGO_INITDB_ROOT_PASSWORD',
    'MONGO_INITDB_ROOT_USERNAME_FILE',
    'MONGO_INITDB_ROOT_PASSWORD_FILE',
    'MONGODB_ROOT_USER',
    'MONGODB_ROOT_PASSWORD',
    'MONGODB_PORT_NUMBER',
  ],
  dumpFile: MONGODB_DUMP_FILE,
  backup: {
    // On a replica set member --oplog makes the dump one point in time; a
    // standalone server has no oplog, and its dump is consistent per
    // collection only (see docs/profiles.md).
    pre: {
      shell: script(
        'set -eu',
        `out={{dataDir}}/${MONGODB_DUMP_FILE}`,
        PICK_TOOL,
        CREDENTIALS,
        connectionOptions('mongodump'),
        `trap 'rm -f \${cfg:+"$cfg"} "$out.tmp"' EXIT`,
        'shell=$(pick mongosh mongo 2>/dev/null) || shell=',
        ROLE,
        'if [ -n "$shell" ]; then case "$(role || true)" in primary | secondary) set -- "$@" --oplog ;; esac; fi',
        'mongodump "$@" --quiet --gzip --archive="$out.tmp"',
        COMMIT_DUMP,
      ),
      onError: 'Fail',
      timeout: '30m',
    },
  },
  restore: {
    // Waits until the server answers and, in a replica set, until a primary
    // is elected: only the primary imports (replication copies the data to
    // the others); a secondary drops its now redundant dump.
    post: {
      shell: script(
        ...importPreamble(MONGODB_DUMP_FILE),
        PICK_TOOL,
        CREDENTIALS,
        'shell=$(pick mongosh mongo)',
        ROLE,
        'waited=0',
        'until r=$(role) && { [ "$r" = standalone ] || [ "$r" = primary ] || [ "$r" = secondary ]; }; do',
        '  if [ "$waited" -ge 600 ]; then echo "MongoDB did not accept connections or elect a primary within 600s" >&2; exit 1; fi',
        '  sleep 2',
        '  waited=$((waited + 2))',
        'done',
        'if [ "$r" = secondary ]; then rm -f "$dump"; echo "secondary: the primary imports the dump"; exit 0; fi',
        connectionOptions('mongorestore'),
        `trap '[ -z "$cfg" ] || rm -f "$cfg"' EXIT`,
        'if [ "$r" = primary ]; then set -- "$@" --oplogReplay; fi',
        'mongorestore "$@" --quiet --drop --gzip --archive="$dump"',
        'rm -f "$dump"',
        'echo "imported $dump"',
      ),
      onError: 'Fail',
      execTimeout: '1h',
      waitTimeout: '10m',
    },
  },
  cleanup: removeDumpHook(MONGODB_DUMP_FILE),
};
