import type { HookProfile } from './hook-profile.js';
import { DATA_DIR_LINE, script } from './shell-snippets.js';

/** Indices the last pre-backup hook write-blocked: kept on the volume so a restore knows what to unblock. */
export const ELASTICSEARCH_BLOCKED_FILE = '.wutong-backup-elasticsearch.blocked';
/** Written by the post-backup hook once it lifted the blocks; its absence means a backup was interrupted. */
export const ELASTICSEARCH_UNBLOCKED_FILE = '.wutong-backup-elasticsearch.unblocked';

/**
 * Defines `es` (curl against the node on loopback) and `unblock` (lifts the
 * write block from every index in the blocked list). The password reaches
 * curl through a private config file, never its argument list. HTTPS is
 * tried when plain HTTP does not answer; -k because the node's certificate
 * (self-signed by default in 8.x) is not issued for 127.0.0.1.
 */
const CLIENT = [
  DATA_DIR_LINE,
  `blocked="$data/${ELASTICSEARCH_BLOCKED_FILE}"`,
  `unblocked="$data/${ELASTICSEARCH_UNBLOCKED_FILE}"`,
  'pw="${ELASTIC_PASSWORD:-${ELASTICSEARCH_PASSWORD:-}}"',
  'if [ -z "$pw" ] && [ -n "${ELASTIC_PASSWORD_FILE:-}" ]; then pw=$(cat "$ELASTIC_PASSWORD_FILE"); fi',
  'port="${ELASTICSEARCH_HTTP_PORT_NUMBER:-9200}"',
  'auth=$(mktemp)',
  `trap 'rm -f "$auth"' EXIT`,
  `if [ -n "$pw" ]; then printf 'user = "elastic:%s"\\n' "$(printf '%s' "$pw" | sed 's/[\\\\"]/\\\\&/g')" > "$auth"; fi`,
  'base="http://127.0.0.1:$port"',
  'if ! curl -s -o /dev/null "$base/"; then base="https://127.0.0.1:$port"; fi',
  `es() { method=$1; path=$2; shift 2; curl -fsS -k -K "$auth" -H 'Content-Type: application/json' -X "$method" "$base$path" "$@"; }`,
  'unblock() {',
  '  if [ -f "$blocked" ]; then',
  `    while IFS= read -r index; do [ -z "$index" ] || es PUT "/$index/_settings" -d '{"index.blocks.write":null}' >/dev/null; done < "$blocked"`,
  '  fi',
  '}',
].join('\n');

export const elasticsearchProfile: HookProfile = {
  name: 'elasticsearch',
  summary:
    'Elasticsearch: write-blocks and flushes the indices so their files hold still while the volume is copied; lifts the block after backup and after restore',
  image: '(^|/)(elasticsearch|opensearch)(:|@|$)',
  env: ['ELASTIC_PASSWORD', 'ELASTIC_PASSWORD_FILE', 'ELASTICSEARCH_PASSWORD', 'ELASTICSEARCH_HTTP_PORT_NUMBER'],
  dumpFile: undefined,
  backup: {
    // Only indices that are not write-blocked already are blocked (and
    // listed), so the post hook never lifts a block someone else set. Blocks
    // left by an interrupted backup (listed, never marked unblocked) are
    // lifted first. If anything fails, the trap lifts what was set: Velero
    // does not run the post hook after a failed pre hook.
    pre: {
      shell: script(
        'set -eu',
        CLIENT,
        'if [ ! -f "$unblocked" ]; then unblock; fi',
        'rm -f "$unblocked"',
        'list=$(mktemp)',
        `trap 'unblock && touch "$unblocked"; rm -f "$auth" "$list"' EXIT`,
        // A variable first: a failed command substitution in a for list would not stop the script.
        `indices=$(es GET '/_cat/indices?h=index&expand_wildcards=open')`,
        'for index in $indices; do',
        `  if ! es GET "/$index/_settings/index.blocks.write?flat_settings=true" | grep -q '"index.blocks.write":"true"'; then echo "$index" >> "$list"; fi`,
        'done',
        'mv -f "$list" "$blocked"',
        `while IFS= read -r index; do es PUT "/$index/_settings" -d '{"index.blocks.write":true}' >/dev/null; done < "$blocked"`,
        `es POST '/_flush?wait_if_ongoing=true' >/dev/null`,
        `trap 'rm -f "$auth"' EXIT`,
      ),
      onError: 'Fail',
      timeout: '15m',
    },
    post: {
      shell: script('set -eu', CLIENT, 'unblock', 'touch "$unblocked"'),
      // A block left in place stops every write to the index: fail loudly.
      onError: 'Fail',
      timeout: '5m',
    },
  },
  restore: {
    // The restored index files may carry the write block they had while
    // being copied.
    post: {
      shell: script(
        'set -eu',
        CLIENT,
        'if [ ! -f "$blocked" ]; then echo "no write blocks to lift"; exit 0; fi',
        'waited=0',
        `until es GET '/_cluster/health?wait_for_status=yellow&timeout=10s' >/dev/null 2>&1; do`,
        '  if [ "$waited" -ge 600 ]; then echo "Elasticsearch did not become available within 600s" >&2; exit 1; fi',
        '  sleep 2',
        '  waited=$((waited + 2))',
        'done',
        'unblock',
        'rm -f "$blocked" "$unblocked"',
        'echo "lifted the write blocks set before the backup"',
      ),
      onError: 'Fail',
      execTimeout: '15m',
      waitTimeout: '10m',
    },
  },
};
