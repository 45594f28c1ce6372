import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { annotationsFor, argvOf, podWith, StubBin } from './profile-fixtures.js';

// Elasticsearch is not in Debian: the profile's scripts run against a stub
// curl that keeps each index's write block in a file and logs every call.

const PRE = 'pre.hook.backup.velero.io/';
const POST = 'post.hook.backup.velero.io/';
const RESTORE = 'post.hook.restore.velero.io/';
const BLOCKED = '.wutong-backup-elasticsearch.blocked';
const UNBLOCKED = '.wutong-backup-elasticsearch.unblocked';
const PASSWORD = 'el"astic\\pw';

let root: string;
let bin: StubBin;
let state: string;
let dataDir: string;

const CURL = (stateDir: string): string => `
state='${stateDir}'
method=GET; url=; body=; cfg=
while [ $# -gt 0 ]; do
  case "$1" in
    -X) method=$2; shift 2 ;;
    -d) body=$2; shift 2 ;;
    -K) cfg=$2; shift 2 ;;
    -H | -o) shift 2 ;;
    http*) url=$1; shift ;;
    *) shift ;;
  esac
done
path=\${url#http://127.0.0.1:9200}
echo "$method $path $body" >> "$state/calls"
if [ -n "$cfg" ]; then cp "$cfg" "$state/auth"; fi
index=\${path#/}; index=\${index%%/*}
case "$method $path" in
  "GET /") exit 0 ;;
  "GET /_cat/indices"*) cat "$state/indices" ;;
  "GET /_cluster/health"*) echo '{"status":"green"}' ;;
  "POST /_flush"*) if [ -f "$state/fail-flush" ]; then exit 22; fi; echo '{}' ;;
  "GET /"*"/_settings/index.blocks.write"*)
    if [ -f "$state/blocked-$index" ]; then printf '{"%s":{"settings":{"index.blocks.write":"true"}}}' "$index"
    else printf '{"%s":{"settings":{}}}' "$index"; fi ;;
  "PUT /"*"/_settings")
    case "$body" in *true*) touch "$state/blocked-$index" ;; *null*) rm -f "$state/blocked-$index" ;; esac
    echo '{"acknowledged":true}' ;;
  *) echo "unexpected $method $path" >&2; exit 22 ;;
esac
`;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'wutong-es-'));
  bin = new StubBin(root);
  state = join(root, 'state');
  dataDir = join(root, "es data's dir");
  mkdirSync(state);
  mkdirSync(dataDir);
  writeFileSync(join(state, 'indices'), 'orders\nlogs-2024\narchive\n');
  // Someone else's block (an ILM read-only index): never lifted by the hooks.
  writeFileSync(join(state, 'blocked-archive'), '');
  bin.stub('curl', CURL(state));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const ENV = { ELASTIC_PASSWORD: PASSWORD };

function annotations(): Record<string, string> {
  return annotationsFor('rules:\n  - name: es\n    profile: elasticsearch\n', podWith('elasticsearch:8.13.0', dataDir, ENV));
}

function blocked(): string[] {
  return ['orders', 'logs-2024', 'archive'].filter((i) => existsSync(join(state, `blocked-${i}`)));
}

function calls(): string[] {
  return readFileSync(join(state, 'calls'), 'utf8').trim().split('\n');
}

test('pre blocks writes on the indices not already blocked, then flushes; post lifts only those', () => {
  const pre = bin.run(argvOf(annotations(), PRE), ENV);
  expect(pre).toMatchObject({ status: 0, stderr: '' });
  expect(blocked()).toEqual(['orders', 'logs-2024', 'archive']);
  expect(readFileSync(join(dataDir, BLOCKED), 'utf8')).toBe('orders\nlogs-2024\n');
  expect(calls().at(-1)).toBe('POST /_flush?wait_if_ongoing=true');
  // The password reached curl through its config file, escaped, never its arguments.
  expect(readFileSync(join(state, 'auth'), 'utf8')).toBe('user = "elastic:el\\"astic\\\\pw"\n');
  expect(calls().join('\n')).not.toContain('astic');

  expect(bin.run(argvOf(annotations(), POST), ENV)).toMatchObject({ status: 0, stderr: '' });
  expect(blocked()).toEqual(['archive']);
  expect(existsSync(join(dataDir, UNBLOCKED))).toBe(true);
});

test('a failed flush lifts the blocks it set before failing: Velero runs no post hook after a failed pre hook', () => {
  writeFileSync(join(state, 'fail-flush'), '');
  const pre = bin.run(argvOf(annotations(), PRE), ENV);
  expect(pre.status).not.toBe(0);
  expect(blocked()).toEqual(['archive']);
});

test('blocks left by an interrupted backup (no post hook ran) are lifted by the next pre hook before it looks', () => {
  writeFileSync(join(dataDir, BLOCKED), 'orders\n');
  writeFileSync(join(state, 'blocked-orders'), '');
  expect(bin.run(argvOf(annotations(), PRE), ENV)).toMatchObject({ status: 0 });
  // orders is ours again (listed), archive still someone else's.
  expect(readFileSync(join(dataDir, BLOCKED), 'utf8')).toBe('orders\nlogs-2024\n');
});

test('restore lifts the blocks the copied indices carry, then forgets them', () => {
  writeFileSync(join(dataDir, BLOCKED), 'orders\nlogs-2024\n');
  writeFileSync(join(dataDir, UNBLOCKED), '');
  for (const index of ['orders', 'logs-2024']) writeFileSync(join(state, `blocked-${index}`), '');
  const run = bin.run(argvOf(annotations(), RESTORE), ENV);
  expect(run).toMatchObject({ status: 0, stderr: '' });
  expect(blocked()).toEqual(['archive']);
  expect(existsSync(join(dataDir, BLOCKED))).toBe(false);
  expect(existsSync(join(dataDir, UNBLOCKED))).toBe(false);
});

test('restore without a block list does nothing', () => {
  const run = bin.run(argvOf(annotations(), RESTORE), ENV);
  expect(run).toMatchObject({ status: 0 });
  expect(run.stdout).toContain('no write blocks');
});
