import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { annotationsFor, argvOf, podWith, StubBin } from './profile-fixtures.js';

// MongoDB is not in Debian, so the mongodb profile's scripts run here
// against stub mongodump/mongorestore/mongosh that record what they were
// asked and act like a standalone server, a primary or a secondary.

const PRE = 'pre.hook.backup.velero.io/';
const RESTORE = 'post.hook.restore.velero.io/';
const ARCHIVE = '.wutong-backup-mongodb.archive';
const PASSWORD = `mongo pa$$'"word`;

let root: string;
let bin: StubBin;
let state: string;
let dataDir: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'wutong-mongo-'));
  bin = new StubBin(root);
  state = join(root, 'state');
  dataDir = join(root, "mongo data's dir");
  mkdirSync(state);
  mkdirSync(dataDir);
  writeFileSync(join(state, 'role'), 'standalone');
  const tool = (name: string): string =>
    [
      `state='${state}'`,
      `if [ "$1" = --help ]; then if [ -f "$state/has-config" ]; then echo "  --config=<filename>"; fi; exit 0; fi`,
      `echo "$*" > "$state/${name}.args"`,
      'for a in "$@"; do case "$a" in',
      `  --config=*) cp "\${a#--config=}" "$state/${name}.config" ;;`,
      `  --archive=*) out="\${a#--archive=}" ;;`,
      'esac; done',
      name === 'mongodump' ? 'echo archive > "$out"' : `cp "$out" "$state/restored"`,
    ].join('\n');
  bin.stub('mongodump', tool('mongodump'));
  bin.stub('mongorestore', tool('mongorestore'));
  bin.stub('mongosh', `cat '${join(state, 'role')}'; echo`);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const ENV = { MONGO_INITDB_ROOT_USERNAME: 'admin', MONGO_INITDB_ROOT_PASSWORD: PASSWORD };

function annotations(): Record<string, string> {
  return annotationsFor('rules:\n  - name: db\n    profile: mongodb\n', podWith('mongo:7.0', dataDir, ENV));
}

function read(name: string): string {
  return readFileSync(join(state, name), 'utf8');
}

test('standalone: a gzip archive of everything, without --oplog, with the root credentials from the env', () => {
  expect(bin.run(argvOf(annotations(), PRE), ENV)).toMatchObject({ status: 0, stderr: '' });
  expect(readFileSync(join(dataDir, ARCHIVE), 'utf8')).toBe('archive\n');
  expect(existsSync(join(dataDir, `${ARCHIVE}.tmp`))).toBe(false);
  const args = read('mongodump.args');
  expect(args).toContain('--port=27017 --username=admin --password=');
  expect(args).toContain('--authenticationDatabase=admin --quiet --gzip --archive=');
  expect(args).not.toContain('--oplog');
});

test('with Database Tools that read --config, the password goes into a private file instead of the arguments', () => {
  writeFileSync(join(state, 'has-config'), '');
  expect(bin.run(argvOf(annotations(), PRE), ENV)).toMatchObject({ status: 0, stderr: '' });
  expect(read('mongodump.args')).not.toContain('pa$$');
  expect(read('mongodump.config')).toBe(`password: 'mongo pa$$''"word'\n`);
});

test('a replica set member dumps with --oplog, for one point in time', () => {
  writeFileSync(join(state, 'role'), 'secondary');
  expect(bin.run(argvOf(annotations(), PRE), ENV)).toMatchObject({ status: 0 });
  expect(read('mongodump.args')).toContain(' --oplog ');
});

test('restore on a primary: mongorestore --drop with --oplogReplay, then the archive is removed', () => {
  writeFileSync(join(dataDir, ARCHIVE), 'the archive');
  writeFileSync(join(state, 'role'), 'primary');
  const run = bin.run(argvOf(annotations(), RESTORE), ENV);
  expect(run).toMatchObject({ status: 0, stderr: '' });
  expect(read('mongorestore.args')).toMatch(/--username=admin --password=.* --authenticationDatabase=admin --oplogReplay --quiet --drop --gzip --archive=/);
  expect(read('restored')).toBe('the archive');
  expect(existsSync(join(dataDir, ARCHIVE))).toBe(false);
});

test('restore on a secondary: no import (replication brings the primary\'s), the redundant archive is removed', () => {
  writeFileSync(join(dataDir, ARCHIVE), 'the archive');
  writeFileSync(join(state, 'role'), 'secondary');
  const run = bin.run(argvOf(annotations(), RESTORE), ENV);
  expect(run.status).toBe(0);
  expect(run.stdout).toContain('secondary');
  expect(existsSync(join(state, 'mongorestore.args'))).toBe(false);
  expect(existsSync(join(dataDir, ARCHIVE))).toBe(false);
});

test('restore with no archive on the volume does nothing', () => {
  const run = bin.run(argvOf(annotations(), RESTORE), ENV);
  expect(run).toMatchObject({ status: 0 });
  expect(run.stdout).toContain('nothing to import');
});

test('a failed dump fails the hook and keeps the previous archive', () => {
  writeFileSync(join(dataDir, ARCHIVE), 'previous');
  bin.stub('mongodump', 'exit 3');
  expect(bin.run(argvOf(annotations(), PRE), ENV).status).not.toBe(0);
  expect(readFileSync(join(dataDir, ARCHIVE), 'utf8')).toBe('previous');
  expect(existsSync(join(dataDir, `${ARCHIVE}.tmp`))).toBe(false);
});
