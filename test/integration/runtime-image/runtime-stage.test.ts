import { jest } from '@jest/globals';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { handleReview } from '../../../src/admission/review-handler.js';
import { decodeReview } from '../../../src/admission/admission-review.js';
import { PACKAGE_ROOT } from '../../../src/package-root.js';
import { loadDefaultPolicy } from '../../../src/policy/default-policy.js';
import { loadPodCase } from '../../fixtures/pod-cases.js';
import { runtimeStage, type RuntimeStage } from './dockerfile-stages.js';

// No container engine runs here, so the image's runtime stage is performed by
// hand, step by step as the Dockerfile says (read from the Dockerfile itself,
// so the two cannot drift): its COPY lines into a temporary root, production
// dependencies only, then the ENTRYPOINT started as the image's USER on a tree
// that user cannot write, with the writable paths the ENV names moved under a
// temporary directory. It must then serve a review over HTTPS.

jest.setTimeout(15 * 60_000); // npm ci on a busy machine

const stage: RuntimeStage = runtimeStage(join(PACKAGE_ROOT, 'Dockerfile'));
let root: string;
let server: ChildProcess | undefined;

afterAll(() => {
  server?.kill('SIGKILL');
  if (root) rmSync(root, { recursive: true, force: true });
});

function buildWorkdir(): string {
  const workdir = stage.buildStage.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args;
  if (workdir === undefined) throw new Error('Dockerfile: the build stage has no WORKDIR');
  return workdir;
}

/**
 * The build stage's node_modules, as the image gets it: the build stage runs
 * `npm ci` and then `npm prune --omit=dev`, which from the same lock file
 * leaves what `npm ci --omit=dev` installs. Its dist/ is the build npm test
 * has just made (the same tsc -p tsconfig.build.json).
 */
function productionNodeModules(into: string): string {
  const runs = stage.buildStage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  const ci = runs.find((r) => r.startsWith('npm ci'));
  expect(ci).toBeDefined();
  expect(runs.some((r) => r.includes('npm prune --omit=dev'))).toBe(true);
  expect(runs.some((r) => r.includes('npm run build'))).toBe(true);
  mkdirSync(into, { recursive: true });
  for (const file of ['package.json', 'package-lock.json']) cpSync(join(PACKAGE_ROOT, file), join(into, file));
  const flags = (ci ?? '').split(/\s+/).slice(2);
  execFileSync('npm', ['ci', ...flags, '--omit=dev', '--no-audit', '--no-fund'], { cwd: into, stdio: 'pipe', timeout: 10 * 60_000 });
  return join(into, 'node_modules');
}

/** Where a COPY source comes from here: the build context, or what stands in for the build stage's file. */
function sourceOf(copy: RuntimeStage['copies'][number], staging: string): string {
  if (copy.from === undefined) return join(PACKAGE_ROOT, copy.source);
  expect(copy.from).toBe(stage.buildStage.name);
  const prefix = `${buildWorkdir()}/`;
  expect(copy.source.startsWith(prefix)).toBe(true);
  const inBuild = copy.source.slice(prefix.length);
  return inBuild === 'node_modules' ? productionNodeModules(staging) : join(PACKAGE_ROOT, inBuild);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** Runs a node one-liner as the image's user; returns its exit status and stderr. */
function asImageUser(script: string, args: string[]): { status: number | null; stderr: string } {
  const result = spawnSync(process.execPath, ['-e', script, ...args], { ...stage.user, encoding: 'utf8', env: {} });
  return { status: result.status, stderr: result.stderr };
}

function post(url: string, ca: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/mutate`, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Resolves with the URL from the "webhook serving" log line; rejects with the output if the process exits first. */
function servingUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; url?: string };
        if (entry.msg === 'webhook serving' && entry.url) resolve(entry.url);
      }
    });
    child.on('exit', (code) => reject(new Error(`the server exited (${code}) before serving:\n${out}\n${err}`)));
  });
}

test('the runtime stage, performed from the Dockerfile, serves a review as a non-root user on a read-only tree', async () => {
  // Starting a process as another uid needs root; without it this fails rather than skips.
  expect({ uid: process.getuid?.() }).toEqual({ uid: 0 });
  expect(stage.user.uid).not.toBe(0);
  expect(stage.entrypoint[0]).toMatch(/\/node$/);

  root = mkdtempSync(join(tmpdir(), 'wutong-runtime-stage-'));
  chmodSync(root, 0o755);
  const app = join(root, stage.workdir);
  const writable = join(root, 'tmp');
  mkdirSync(app, { recursive: true });
  mkdirSync(join(writable, 'home'), { recursive: true });
  for (const dir of [writable, join(writable, 'home')]) chownSync(dir, stage.user.uid, stage.user.gid);

  for (const copy of stage.copies) {
    const destination = copy.destination.startsWith('/') ? join(root, copy.destination) : join(app, copy.destination);
    const target = copy.destination.endsWith('/') ? join(destination, copy.source.split('/').at(-1) ?? '') : destination;
    mkdirSync(dirname(target), { recursive: true });
    cpSync(sourceOf(copy, join(root, 'build')), target, { recursive: true });
  }
  rmSync(join(root, 'build'), { recursive: true, force: true });
  // Root's files, not writable by anyone else: what the image user finds.
  execFileSync('chown', ['-R', '0:0', app]);
  execFileSync('chmod', ['-R', 'go-w', app]);

  // Production dependencies only, and the files the COPY lines name.
  expect(existsSync(join(app, 'node_modules', 'pino'))).toBe(true);
  for (const dev of ['jest', 'typescript', 'fast-check', 'eslint']) expect(existsSync(join(app, 'node_modules', dev))).toBe(false);
  expect(statSync(join(app, 'dist', 'src', 'main.js')).isFile()).toBe(true);
  expect(statSync(join(app, 'manifests', 'base', 'policy.yaml')).isFile()).toBe(true);

  // The tree is read-only to the image user.
  for (const path of [join(app, 'probe'), join(app, 'dist', 'src', 'main.js'), join(app, 'node_modules', 'probe')]) {
    const attempt = asImageUser('require("node:fs").appendFileSync(process.argv[1], "x")', [path]);
    expect({ path, status: attempt.status, denied: attempt.stderr.includes('EACCES') }).toEqual({ path, status: 1, denied: true });
  }
  const before = filesUnder(app);

  // The image's ENV, with its writable /tmp paths moved under the temporary directory.
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(stage.env)) env[key] = value.startsWith('/tmp') ? join(writable, value.slice('/tmp'.length)) : value;
  expect(env.TLS_DIR?.startsWith(writable)).toBe(true);
  Object.assign(env, {
    TMPDIR: writable,
    HOME: join(writable, 'home'),
    KUBECONFIG: join(writable, 'no-cluster'), // standalone: no cluster to find
    PORT: '0',
    API_PORT: '0',
    HOST: '127.0.0.1',
  });

  server = spawn(process.execPath, stage.entrypoint.slice(1), { cwd: app, env, ...stage.user, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await servingUrl(server);

  const ca = readFileSync(join(env.TLS_DIR ?? '', 'ca.crt'), 'utf8');
  const input = loadPodCase('mysql-statefulset').input;
  const reply = await post(url.replace('127.0.0.1', 'localhost'), ca, JSON.stringify(input));
  expect(reply.status).toBe(200);
  // Exactly the answer the webhook's code gives for the shipped policy the image carries.
  const expected = handleReview(decodeReview(input).request, loadDefaultPolicy()).response;
  expect(expected.patch).toBeDefined();
  expect(JSON.parse(reply.body)).toEqual({ apiVersion: input.apiVersion, kind: 'AdmissionReview', response: expected });

  // It wrote only where the image lets it: the app tree is as copied, the certificates are under TLS_DIR.
  expect(filesUnder(app)).toEqual(before);
  expect(statSync(join(env.TLS_DIR ?? '', 'tls.crt')).uid).toBe(stage.user.uid);

  const exited = new Promise((resolve) => server?.once('exit', resolve));
  server.kill('SIGTERM');
  await exited;
});
