/**
 * The admission webhook benchmark (`npm run bench`, via bench/run.sh).
 *
 * Starts the real server (dist/src/main.js, unmodified) pinned to one core,
 * drives it from the other core over keep-alive TLS with a ~15 KB Wutong
 * MySQL StatefulSet pod review, and reports:
 *   - saturation throughput at 16 and 64 connections (wrk, closed loop),
 *   - server CPU per review over those runs (/proc/<pid>/stat),
 *   - p50/p90/p99/max latency at fixed 500 and 2,000 req/s (fixed-rate.ts, open loop),
 *   - server RSS and peak RSS after the load (/proc/<pid>/status),
 *   - Go clients built like kube-apiserver's webhook client (bench/go-client),
 *     HTTP/2 and HTTP/1.1, at fixed 500 and 2,000 req/s, several runs each:
 *     new connections per run, p50/p99 and CPU per review, medians.
 * Every answer must be a 200 carrying a JSONPatch; anything else fails the
 * bench, so it can never quietly time a 400 or a skip.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FixedRateResult } from './fixed-rate.js';
import { summariseFile } from './profile-summary.js';

const ROOT = process.cwd();
const SERVER_CPU = process.env.BENCH_SERVER_CPU ?? '0';
const LOAD_CPU = process.env.BENCH_LOAD_CPU ?? '1';
/** When set, the server runs with --cpu-prof and writes its profile here on exit. */
const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;
/** BENCH_BASELINE=0 skips the calibration run of bench/baseline-server.ts. */
const BASELINE = process.env.BENCH_BASELINE !== '0';

const WARMUP_S = 5;
const SATURATION_S = 10;
const SATURATION_CONNECTIONS = [16, 64] as const;
const FIXED_RATES = [500, 2000] as const;
const FIXED_CONNECTIONS = 16;
const FIXED_WARMUP_S = 3;
const FIXED_S = 15;
const BASELINE_WARMUP_S = 3;
/** BENCH_ONLY=go runs only the Go-client section (quicker when working on the transport). */
const GO_ONLY = process.env.BENCH_ONLY === 'go';
const GO_PROTOCOLS = ['h2', 'http1'] as const;
const GO_RATES = [500, 2000] as const;
/** A single run proves little: under load the system tips either way at random. */
const GO_RUNS = Number(process.env.BENCH_GO_RUNS ?? 5);
const GO_WARMUP_S = 2;
const GO_S = 10;
const GO_GOAL = { p99MsAt500: 5 } as const;
/** Runs per row against the Go floor server (BENCH_GO_FLOOR=0 skips it). */
const GO_FLOOR_RUNS = process.env.BENCH_GO_FLOOR === '0' ? 0 : 3;

const GOAL = { rps: 5000, cpuUs: 220, p99MsAt2000: 5, rssMiB: 120 } as const;
/** The issue's reference for a bare node:https handler doing this mutation on this machine when idle. */
const QUIET_FLOOR = { rps: 7000, cpuUs: 160 } as const;

interface WrkResult {
  requests: number;
  duration_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
}

interface SaturationRun {
  connections: number;
  wrk: WrkResult;
  rps: number;
  served: number;
  cpuUsPerReview: number;
  /** Share of one core the server used: well under 100% means the load, not the server, was the limit. */
  serverCoreShare: number;
  /** Share of the server's core other processes took meanwhile: noise from the rest of the machine. */
  otherOnServerCore: number;
}

interface Outcomes {
  [outcome: string]: number;
}

const problems: string[] = [];

function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

interface HttpAnswer {
  status: number;
  body: string;
}

function https(url: string, ca: string, method: 'GET' | 'POST', body?: Buffer): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {};
    const req = request(url, { method, ca, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Runs a command to completion and returns its stdout; stderr passes through. */
function capture(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}\n${out}`));
    });
  });
}

function resultLine<T>(output: string, marker: string): T {
  const line = output.split('\n').find((l) => l.startsWith(`${marker} `));
  if (!line) throw new Error(`no ${marker} line in:\n${output}`);
  return JSON.parse(line.slice(marker.length + 1)) as T;
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** Server CPU time (user + system, all threads) in microseconds. */
function processCpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLK_TCK;
}

/** Busy and total jiffies of one CPU, from /proc/stat. */
function coreTimes(cpu: string): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) throw new Error(`cpu${cpu} not in /proc/stat`);
  const values = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  return { busy: total - idle, total };
}

function memoryMiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
}

async function outcomes(base: string, ca: string): Promise<Outcomes> {
  const { body } = await https(`${base}/metrics`, ca, 'GET');
  const counts: Outcomes = {};
  for (const match of body.matchAll(/^wutong_backup_admission_requests_total\{outcome="([^"]+)"\} (\d+)/gm)) {
    counts[match[1] ?? ''] = Number(match[2]);
  }
  return counts;
}

function outcomeDelta(before: Outcomes, after: Outcomes): Outcomes {
  const delta: Outcomes = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const d = (after[key] ?? 0) - (before[key] ?? 0);
    if (d !== 0) delta[key] = d;
  }
  return delta;
}

/** Anything but "patched" means the bench measured something other than the mutation. */
function checkOutcomes(what: string, delta: Outcomes): number {
  for (const [outcome, n] of Object.entries(delta)) {
    if (outcome !== 'patched') problems.push(`${what}: server counted ${n} "${outcome}" reviews`);
  }
  return Object.values(delta).reduce((a, b) => a + b, 0);
}

async function waitReady(base: string, caFile: string, server: ChildProcess): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`server exited with ${server.exitCode} before becoming ready`);
    try {
      const ca = readFileSync(caFile, 'utf8');
      if ((await https(`${base}/readyz`, ca, 'GET')).status === 200) return ca;
    } catch {
      // Not listening (or TLS files not written) yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('server not ready after 60 s');
}

interface PatchOp {
  op: string;
  path: string;
  value?: unknown;
}

/** One review before the load: the bench must be timing a real patch, with the hook in the mysql container. */
async function verifyAnswer(base: string, ca: string, body: Buffer): Promise<PatchOp[]> {
  const answer = await https(`${base}/mutate`, ca, 'POST', body);
  if (answer.status !== 200) throw new Error(`POST /mutate answered ${answer.status}: ${answer.body}`);
  const review = JSON.parse(answer.body) as { response?: { allowed?: boolean; patchType?: string; patch?: string; warnings?: string[] } };
  const response = review.response;
  if (response?.allowed !== true || response.patchType !== 'JSONPatch' || !response.patch) {
    throw new Error(`POST /mutate answered without a JSONPatch: ${answer.body}`);
  }
  const ops = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as PatchOp[];
  const hookContainer = ops.find((o) => o.path === '/metadata/annotations/pre.hook.backup.velero.io~1container');
  if (hookContainer?.value !== 'mysql') throw new Error(`expected the pre-backup hook in container "mysql", patch was ${JSON.stringify(ops)}`);
  if (response.warnings?.length) throw new Error(`unexpected warnings: ${response.warnings.join('; ')}`);
  return ops;
}

/** `counted`: the server exposes the webhook's metrics, so its own count of outcomes can be checked. */
async function saturation(
  url: string,
  base: string,
  ca: string,
  pid: number,
  bodyFile: string,
  connections: number,
  seconds: number,
  counted = true,
): Promise<SaturationRun> {
  const before = counted ? await outcomes(base, ca) : {};
  const cpuBefore = processCpuUs(pid);
  const coreBefore = coreTimes(SERVER_CPU);
  const output = await capture(
    'taskset',
    ['-c', LOAD_CPU, 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', join(ROOT, 'bench', 'post.lua'), url],
    { ...process.env, BENCH_BODY: bodyFile },
  );
  const cpuAfter = processCpuUs(pid);
  const coreAfter = coreTimes(SERVER_CPU);
  const wrk = resultLine<WrkResult>(output, 'WRK_RESULT');
  const served = counted
    ? checkOutcomes(`saturation ${connections} connections`, outcomeDelta(before, await outcomes(base, ca)))
    : wrk.requests;
  const socketErrors = wrk.connect + wrk.read + wrk.write + wrk.timeout;
  if (wrk.status > 0) problems.push(`saturation ${connections} connections: ${wrk.status} non-2xx/3xx responses`);
  if (socketErrors > 0) problems.push(`saturation ${connections} connections: ${socketErrors} socket errors ${JSON.stringify(wrk)}`);
  const serverCpuUs = cpuAfter - cpuBefore;
  const coreTotalUs = ((coreAfter.total - coreBefore.total) * 1e6) / CLK_TCK;
  const coreBusyUs = ((coreAfter.busy - coreBefore.busy) * 1e6) / CLK_TCK;
  return {
    connections,
    wrk,
    rps: wrk.requests / (wrk.duration_us / 1e6),
    served,
    cpuUsPerReview: serverCpuUs / served,
    serverCoreShare: serverCpuUs / (wrk.duration_us || 1),
    otherOnServerCore: Math.max(0, coreBusyUs - serverCpuUs) / (coreTotalUs || 1),
  };
}

async function fixedRate(url: string, base: string, ca: string, caFile: string, bodyFile: string, rate: number): Promise<FixedRateResult> {
  const before = await outcomes(base, ca);
  const output = await capture('taskset', [
    '-c',
    LOAD_CPU,
    process.execPath,
    join(ROOT, 'dist', 'bench', 'fixed-rate.js'),
    `--url=${url}`,
    `--body=${bodyFile}`,
    `--ca=${caFile}`,
    `--rate=${rate}`,
    `--connections=${FIXED_CONNECTIONS}`,
    `--warmup=${FIXED_WARMUP_S}`,
    `--duration=${FIXED_S}`,
  ]);
  checkOutcomes(`fixed ${rate} req/s`, outcomeDelta(before, await outcomes(base, ca)));
  const result = resultLine<FixedRateResult>(output, 'FIXED_RESULT');
  if (result.bad + result.errors + result.unfinished > 0) {
    problems.push(`fixed ${rate} req/s: ${result.bad} bad answers, ${result.errors} errors, ${result.unfinished} unanswered`);
  }
  return result;
}

/** What bench/go-client prints (GO_RESULT line). */
interface GoResult {
  proto: string;
  rate: number;
  sent: number;
  ok: number;
  bad: number;
  errors: number;
  firstError?: string;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  sendLagP99Ms: number;
  dials: number;
  handshakes: number;
  connsUsed: number;
}

interface GoRun {
  client: GoResult;
  /** Server side, over the whole run (warm-up included): TCP connections accepted and TLS handshakes completed. */
  accepted: number;
  established: number;
  cpuUsPerReview: number;
  served: number;
  /** Reviews the server answered 429 (body budget) during the run. */
  shed: number;
  /** Share of the server's core other processes took during the run. */
  otherOnServerCore: number;
}

async function connectionCounts(base: string, ca: string): Promise<{ accepted: number; established: number }> {
  const { body } = await https(`${base}/metrics`, ca, 'GET');
  const accepted = Number(/^wutong_backup_connections_accepted_total (\d+)/m.exec(body)?.[1] ?? 0);
  let established = 0;
  for (const m of body.matchAll(/^wutong_backup_tls_connections_established_total\{[^}]*\} (\d+)/gm)) established += Number(m[1]);
  return { accepted, established };
}

/** taskset arguments that run bench/go-client on the load core against `base` (the webhook or the Go floor). */
function goClientArgs(base: string, caFile: string, bodyFile: string, proto: string, rate: number): string[] {
  return [
    '-c',
    LOAD_CPU,
    join(ROOT, 'dist', 'bench', 'go-client'),
    `-url=${base}/mutate?timeout=10s`,
    `-ca=${caFile}`,
    `-body=${bodyFile}`,
    `-proto=${proto}`,
    `-rate=${rate}`,
    `-warmup=${GO_WARMUP_S}s`,
    `-duration=${GO_S}s`,
  ];
}

/** One fresh Go client process (so its connection pool starts empty) against the running, warmed server. */
async function goRun(base: string, ca: string, caFile: string, bodyFile: string, pid: number, proto: string, rate: number): Promise<GoRun> {
  const before = await outcomes(base, ca);
  const connsBefore = await connectionCounts(base, ca);
  const cpuBefore = processCpuUs(pid);
  const coreBefore = coreTimes(SERVER_CPU);
  const output = await capture('taskset', goClientArgs(base, caFile, bodyFile, proto, rate));
  const cpuUs = processCpuUs(pid) - cpuBefore;
  const coreAfter = coreTimes(SERVER_CPU);
  const coreTotalUs = ((coreAfter.total - coreBefore.total) * 1e6) / CLK_TCK;
  const coreBusyUs = ((coreAfter.busy - coreBefore.busy) * 1e6) / CLK_TCK;
  const connsAfter = await connectionCounts(base, ca);
  const delta = outcomeDelta(before, await outcomes(base, ca));
  const served = Object.values(delta).reduce((a, b) => a + b, 0);
  const client = resultLine<GoResult>(output, 'GO_RESULT');
  return {
    client,
    accepted: connsAfter.accepted - connsBefore.accepted,
    established: connsAfter.established - connsBefore.established,
    cpuUsPerReview: cpuUs / (served || 1),
    served,
    shed: delta.overloaded ?? 0,
    otherOnServerCore: Math.max(0, coreBusyUs - cpuUs) / (coreTotalUs || 1),
  };
}

/** bench/go-floor on the server core: the Go client's and the machine's own share of the figures. */
async function measureGoFloor(tlsDir: string, caFile: string, bodyFile: string): Promise<GoSeries[]> {
  const floor = spawn('taskset', ['-c', SERVER_CPU, join(ROOT, 'dist', 'bench', 'go-floor'), `-cert=${join(tlsDir, 'tls.crt')}`, `-key=${join(tlsDir, 'tls.key')}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const address = await new Promise<string>((resolve, reject) => {
      let out = '';
      floor.stdout.on('data', (c: Buffer) => {
        out += c.toString('utf8');
        const m = /FLOOR_LISTENING (\S+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      floor.once('exit', (code) => reject(new Error(`go-floor exited ${code}`)));
    });
    const base = `https://${address}`;
    const ca = readFileSync(caFile, 'utf8');
    const accepted = async (): Promise<number> => Number((await https(`${base}/connections`, ca, 'GET')).body.trim());
    const series: GoSeries[] = [];
    for (const proto of GO_PROTOCOLS) {
      for (const rate of GO_RATES) {
        const runs: GoRun[] = [];
        for (let i = 0; i < GO_FLOOR_RUNS; i++) {
          const before = await accepted();
          const cpuBefore = processCpuUs(floor.pid!);
          const coreBefore = coreTimes(SERVER_CPU);
          const output = await capture('taskset', goClientArgs(base, caFile, bodyFile, proto, rate));
          const cpuUs = processCpuUs(floor.pid!) - cpuBefore;
          const coreAfter = coreTimes(SERVER_CPU);
          const client = resultLine<GoResult>(output, 'GO_RESULT');
          const served = rate * (GO_WARMUP_S + GO_S);
          const n = (await accepted()) - before - 1; // minus this bench's own /connections call
          runs.push({
            client,
            accepted: n,
            established: client.handshakes,
            cpuUsPerReview: cpuUs / served,
            served,
            shed: 0,
            otherOnServerCore: Math.max(0, (((coreAfter.busy - coreBefore.busy) * 1e6) / CLK_TCK - cpuUs)) / ((((coreAfter.total - coreBefore.total) * 1e6) / CLK_TCK) || 1),
          });
          log(`  go floor ${proto} ${rate} req/s run ${i + 1}: ${n} accepted, p50 ${client.p50Ms} ms, p99 ${client.p99Ms} ms, ${(cpuUs / served).toFixed(0)} µs/review`);
        }
        series.push({ proto, rate, runs });
      }
    }
    return series;
  } finally {
    floor.kill('SIGKILL');
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

interface GoSeries {
  proto: string;
  rate: number;
  runs: GoRun[];
}

function goReport(series: GoSeries[], floor: GoSeries[]): string[] {
  const range = (values: number[], digits: number): string => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;
  return [
    `Go clients built like kube-apiserver's webhook client (bench/go-client: one Transport, MaxIdleConnsPerHost 25, per-call 10 s context ` +
      `timeout cancelled after each call), fixed rate, open loop, ${GO_WARMUP_S} s warm-up + ${GO_S} s measured, a fresh client process per run, ` +
      `${GO_RUNS} runs per row; medians, with the range over the runs:`,
    '',
    '| Protocol, rate | connections per run: accepted / TLS established (server) | p50 | p99 (range) | CPU per review | failed or shed / sent | other processes on server core | |',
    '|---|---:|---:|---:|---:|---:|---:|:-:|',
    ...series.map(({ proto, rate, runs }) => {
      const p99 = runs.map((r) => r.client.p99Ms);
      const failed = runs.reduce((a, r) => a + r.client.bad + r.client.errors, 0);
      const sent = runs.reduce((a, r) => a + r.client.sent, 0);
      const goal = rate === 500 ? mark(median(p99) <= GO_GOAL.p99MsAt500) : '';
      return (
        `| ${proto === 'h2' ? 'HTTP/2' : 'HTTP/1.1'}, ${int(rate)} req/s | ${median(runs.map((r) => r.accepted)).toFixed(0)} / ${median(runs.map((r) => r.established)).toFixed(0)} ` +
        `(${range(runs.map((r) => r.accepted), 0)}) | ${median(runs.map((r) => r.client.p50Ms)).toFixed(2)} ms | ${median(p99).toFixed(2)} ms (${range(p99, 1)}) | ` +
        `${median(runs.map((r) => r.cpuUsPerReview)).toFixed(0)} µs | ${int(failed)} / ${int(sent)} | ${(median(runs.map((r) => r.otherOnServerCore)) * 100).toFixed(1)}% | ${goal} |`
      );
    }),
    '',
    `Goal: connections per run ≈ the client's connection count (HTTP/2: 1), p99 ≤ ${GO_GOAL.p99MsAt500} ms at 500 req/s, no collapse at 2,000 req/s.`,
    ...(floor.length
      ? [
          '',
          `Floor, same run: the same Go client against bench/go-floor (Go net/http on the server core, same certificate, reads and decodes each review, fixed answer), ${GO_FLOOR_RUNS} runs per row (accepted connections from its own counter; handshakes as the client saw them):`,
          '',
          '| Protocol, rate | connections per run: accepted / handshakes | p50 | p99 (range) | server CPU per request | other processes on server core |',
          '|---|---:|---:|---:|---:|---:|',
          ...floor.map(({ proto, rate, runs }) => {
            const p99 = runs.map((r) => r.client.p99Ms);
            return (
              `| ${proto === 'h2' ? 'HTTP/2' : 'HTTP/1.1'}, ${int(rate)} req/s | ${median(runs.map((r) => r.accepted)).toFixed(0)} / ${median(runs.map((r) => r.established)).toFixed(0)} | ` +
              `${median(runs.map((r) => r.client.p50Ms)).toFixed(2)} ms | ${median(p99).toFixed(2)} ms (${Math.min(...p99).toFixed(1)}–${Math.max(...p99).toFixed(1)}) | ` +
              `${median(runs.map((r) => r.cpuUsPerReview)).toFixed(0)} µs | ${(median(runs.map((r) => r.otherOnServerCore)) * 100).toFixed(1)}% |`
            );
          }),
        ]
      : []),
  ];
}

async function measureGoClients(base: string, ca: string, caFile: string, bodyFile: string, pid: number): Promise<GoSeries[]> {
  const series: GoSeries[] = [];
  for (const proto of GO_PROTOCOLS) {
    for (const rate of GO_RATES) {
      const runs: GoRun[] = [];
      for (let i = 0; i < GO_RUNS; i++) {
        const run = await goRun(base, ca, caFile, bodyFile, pid, proto, rate);
        log(
          `  go ${proto} ${rate} req/s run ${i + 1}: ${run.accepted} accepted / ${run.established} established, p50 ${run.client.p50Ms} ms, ` +
            `p99 ${run.client.p99Ms} ms, ${run.cpuUsPerReview.toFixed(0)} µs/review, ${run.client.bad + run.client.errors} failed, ${run.shed} shed, ` +
            `others took ${(run.otherOnServerCore * 100).toFixed(1)}% of the server core` +
            (run.client.firstError ? ` (${run.client.firstError})` : ''),
        );
        runs.push(run);
      }
      series.push({ proto, rate, runs });
    }
  }
  return series;
}

const ms = (us: number): string => (us / 1000).toFixed(3);
const mark = (ok: boolean): string => (ok ? '✅' : '❌');
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

function gitCommit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} (src/ modified)` : head;
  } catch {
    return 'unknown';
  }
}

interface Measured {
  bodyBytes: number;
  ops: PatchOp[];
  loadAvg: string;
  sat: SaturationRun[];
  fixed: FixedRateResult[];
  mem: { rss: number; hwm: number };
  baseline: SaturationRun | undefined;
  go: GoSeries[];
  goFloor: GoSeries[];
}

function report({ bodyBytes, ops, loadAvg, sat, fixed, mem, baseline, go, goFloor }: Measured): string {
  const at2000 = fixed.find((f) => f.rate === 2000);
  const worstRps = Math.min(...sat.map((s) => s.rps));
  const worstCpu = Math.max(...sat.map((s) => s.cpuUsPerReview));
  const lines = [
    `# wutong-backup admission webhook benchmark`,
    '',
    `${new Date().toISOString()} · commit ${gitCommit()} · Node ${process.version} · ${cpus()[0]?.model ?? 'unknown CPU'} · ` +
      `server on CPU ${SERVER_CPU}, load on CPU ${LOAD_CPU} · load average at start ${loadAvg}`,
    '',
    `Request: bench/mysql-statefulset-review.json, ${int(bodyBytes)} bytes compact, keep-alive TLS; answer is a ${ops.length}-op JSONPatch.`,
    ...(PROFILE_DIR ? ['', '**Profiled run: the server ran under --cpu-prof, so every figure is inflated by the profiler.**'] : []),
    '',
    '| Measure | Result | Goal | |',
    '|---|---:|---:|:-:|',
    ...sat.map(
      (s) =>
        `| Throughput, ${s.connections} connections (wrk, ${SATURATION_S} s) | ${int(s.rps)} req/s | ≥ ${int(GOAL.rps)} | ${mark(s.rps >= GOAL.rps)} |`,
    ),
    ...sat.map(
      (s) =>
        `| Server CPU per review, ${s.connections} connections | ${s.cpuUsPerReview.toFixed(0)} µs | ≤ ${GOAL.cpuUs} µs | ${mark(s.cpuUsPerReview <= GOAL.cpuUs)} |`,
    ),
    ...fixed.map(
      (f) =>
        `| Latency at ${int(f.rate)} req/s, ${f.connections} conns: p50 / p90 / p99 / max | ${ms(f.latencyUs.p50)} / ${ms(f.latencyUs.p90)} / ${ms(f.latencyUs.p99)} / ${ms(f.latencyUs.max)} ms | ` +
        (f.rate === 2000 ? `p99 ≤ ${GOAL.p99MsAt2000} ms | ${mark(f.latencyUs.p99 <= GOAL.p99MsAt2000 * 1000)} |` : '— | |'),
    ),
    `| Server RSS after load (VmRSS / peak VmHWM) | ${mem.rss.toFixed(1)} / ${mem.hwm.toFixed(1)} MiB | ≤ ${GOAL.rssMiB} MiB | ${mark(mem.hwm <= GOAL.rssMiB)} |`,
    ...(baseline
      ? [
          `| Calibration: bare node:https floor, 16 connections (bench/baseline-server.ts) | ${int(baseline.rps)} req/s, ${baseline.cpuUsPerReview.toFixed(0)} µs | ` +
            `quiet machine ≈ ${int(QUIET_FLOOR.rps)} req/s, ${QUIET_FLOOR.cpuUs} µs | |`,
        ]
      : []),
    '',
    ...(baseline && sat[0]
      ? [
          `The webhook spends ${(sat[0].cpuUsPerReview / baseline.cpuUsPerReview).toFixed(2)}× the CPU of the bare floor per review (16 connections). ` +
            `The floor has no express, body-parser, metrics or logging; when it is well above the quiet-machine figure, the machine is busy ` +
            `and every absolute figure here is pessimistic by about that ratio (${(baseline.cpuUsPerReview / QUIET_FLOOR.cpuUs).toFixed(2)}× now).`,
        ]
      : []),
    '',
    ...(go.length ? goReport(go, goFloor) : []),
    '',
    '<details><summary>Details</summary>',
    '',
    '| Saturation | requests | served (server count) | server share of its core | other processes on server core | wrk p50 / p99 / max (closed loop) |',
    '|---|---:|---:|---:|---:|---:|',
    ...sat.map(
      (s) =>
        `| ${s.connections} connections | ${int(s.wrk.requests)} | ${int(s.served)} | ${(s.serverCoreShare * 100).toFixed(0)}% | ${(s.otherOnServerCore * 100).toFixed(1)}% | ${ms(s.wrk.p50_us)} / ${ms(s.wrk.p99_us)} / ${ms(s.wrk.max_us)} ms |`,
    ),
    '',
    '| Fixed rate | measured requests | achieved req/s | p99.9 | generator send lag p99 / max |',
    '|---|---:|---:|---:|---:|',
    ...fixed.map(
      (f) =>
        `| ${int(f.rate)} req/s | ${int(f.measured)} | ${int(f.achievedRps)} | ${ms(f.latencyUs.p999)} ms | ${ms(f.sendLagUs.p99)} / ${ms(f.sendLagUs.max)} ms |`,
    ),
    '',
    `Verdict: ${worstRps >= GOAL.rps && worstCpu <= GOAL.cpuUs && (at2000?.latencyUs.p99 ?? Infinity) <= GOAL.p99MsAt2000 * 1000 && mem.hwm <= GOAL.rssMiB ? 'all goals met' : 'goal(s) missed'}.`,
    '',
    '</details>',
    '',
  ];
  return lines.join('\n');
}

interface RunningServer {
  pid: number;
  ca: string;
  stop(): Promise<void>;
}

/** Starts a server entry point pinned to the server core, isolated from any cluster, and waits until it is ready. */
async function startServer(entry: string, tlsDir: string, port: number, nodeFlags: string[] = []): Promise<RunningServer> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    API_PORT: '0',
    HOST: '127.0.0.1',
    TLS_DIR: tlsDir,
    LOG_LEVEL: 'warn',
    // The bench stops servers between phases; a production drain would only make it wait.
    SHUTDOWN_DRAIN: '0',
    // Standalone on purpose: the shipped policy file, and no kubeconfig, so a
    // cluster reachable from this machine cannot change what is measured.
    POLICY_FILE: join(ROOT, 'manifests', 'base', 'policy.yaml'),
    KUBECONFIG: join(tlsDir, 'no-kubeconfig'),
  };
  delete env.KUBERNETES_SERVICE_HOST;
  const child = spawn('taskset', ['-c', SERVER_CPU, process.execPath, ...nodeFlags, entry], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    if (child.pid === undefined) throw new Error(`could not start ${entry}`);
    const ca = await waitReady(`https://127.0.0.1:${port}`, join(tlsDir, 'ca.crt'), child);
    return { pid: child.pid, ca, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function measureBaseline(tlsDir: string, bodyFile: string): Promise<SaturationRun> {
  const port = await freePort();
  const base = `https://127.0.0.1:${port}`;
  const server = await startServer(join(ROOT, 'dist', 'bench', 'baseline-server.js'), tlsDir, port);
  try {
    log(`calibration: bare node:https baseline, ${BASELINE_WARMUP_S} s warm-up + ${SATURATION_S} s at 16 connections`);
    await saturation(`${base}/mutate`, base, server.ca, server.pid, bodyFile, 16, BASELINE_WARMUP_S, false);
    const run = await saturation(`${base}/mutate`, base, server.ca, server.pid, bodyFile, 16, SATURATION_S, false);
    log(`  ${int(run.rps)} req/s, ${run.cpuUsPerReview.toFixed(0)} µs CPU per review`);
    return run;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'wutong-bench-'));
  process.once('exit', () => rmSync(work, { recursive: true, force: true }));
  // run.sh passes Ctrl-C on as SIGTERM to the whole session; exit through the cleanup above.
  process.once('SIGTERM', () => process.exit(143));
  process.once('SIGINT', () => process.exit(130));
  const tlsDir = join(work, 'tls');
  const caFile = join(tlsDir, 'ca.crt');
  const bodyFile = join(work, 'review.json');
  // The API server sends compact JSON; the checked-in file is indented for reading.
  const body = Buffer.from(JSON.stringify(JSON.parse(readFileSync(join(ROOT, 'bench', 'mysql-statefulset-review.json'), 'utf8'))));
  writeFileSync(bodyFile, body);
  const loadAvg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

  const port = await freePort();
  const base = `https://127.0.0.1:${port}`;
  const url = `${base}/mutate`;
  log(`starting dist/src/main.js on CPU ${SERVER_CPU}, port ${port}${PROFILE_DIR ? `, profiling into ${PROFILE_DIR}` : ''}`);
  const nodeFlags = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const server = await startServer(join(ROOT, 'dist', 'src', 'main.js'), tlsDir, port, nodeFlags);
  let measured: Measured;
  let servedTotal = 0;
  try {
    const { pid, ca } = server;
    const ops = await verifyAnswer(base, ca, body);
    log(`verified: ${body.length}-byte review answered with a ${ops.length}-op JSONPatch (${ops.map((o) => o.path.split('/').pop()).join(', ')})`);

    log(`warm-up: ${WARMUP_S} s at 16 connections`);
    await saturation(url, base, ca, pid, bodyFile, 16, WARMUP_S);
    const sat: SaturationRun[] = [];
    const fixed: FixedRateResult[] = [];
    if (!GO_ONLY) {
      for (const connections of SATURATION_CONNECTIONS) {
        log(`saturation: ${SATURATION_S} s at ${connections} connections`);
        const run = await saturation(url, base, ca, pid, bodyFile, connections, SATURATION_S);
        log(`  ${int(run.rps)} req/s, ${run.cpuUsPerReview.toFixed(0)} µs CPU per review`);
        sat.push(run);
      }
      for (const rate of FIXED_RATES) {
        log(`fixed rate: ${rate} req/s for ${FIXED_WARMUP_S} s warm-up + ${FIXED_S} s measured, ${FIXED_CONNECTIONS} connections`);
        const result = await fixedRate(url, base, ca, caFile, bodyFile, rate);
        log(`  p50 ${ms(result.latencyUs.p50)} ms, p99 ${ms(result.latencyUs.p99)} ms, max ${ms(result.latencyUs.max)} ms`);
        fixed.push(result);
      }
    }
    const mem = memoryMiB(pid);
    log(`Go clients: ${GO_PROTOCOLS.join(', ')} at ${GO_RATES.join(' and ')} req/s, ${GO_RUNS} runs each`);
    const go = await measureGoClients(base, ca, caFile, bodyFile, pid);
    servedTotal = Object.values(await outcomes(base, ca)).reduce((a, b) => a + b, 0);
    measured = { bodyBytes: body.length, ops, loadAvg, sat, fixed, mem, baseline: undefined, go, goFloor: [] };
  } finally {
    await server.stop();
  }
  if (BASELINE && !GO_ONLY) measured.baseline = await measureBaseline(tlsDir, bodyFile);
  if (GO_FLOOR_RUNS > 0) {
    log(`Go floor: bench/go-floor on CPU ${SERVER_CPU}, ${GO_FLOOR_RUNS} runs per row`);
    measured.goFloor = await measureGoFloor(tlsDir, caFile, bodyFile);
  }

  const markdown = report(measured);
  process.stdout.write(`\n${markdown}\n`);
  const results = join(ROOT, 'bench', 'results');
  mkdirSync(results, { recursive: true });
  if (PROFILE_DIR) {
    // The profile covers the whole run: start-up, warm-up, saturation and the fixed-rate runs.
    const file = readdirSync(PROFILE_DIR)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort()
      .pop();
    if (!file) throw new Error(`no .cpuprofile written to ${PROFILE_DIR}`);
    const summary = `# CPU profile of the webhook under the bench\n\n${join(PROFILE_DIR, file)}\n\n${summariseFile(join(PROFILE_DIR, file), 40, servedTotal)}\n`;
    process.stdout.write(`\n${summary}`);
    writeFileSync(join(results, 'profiled.md'), `${markdown}\n${summary}`);
    log('profiled run: summary written to bench/results/profiled.md (latest.md left alone)');
  } else {
    writeFileSync(join(results, 'latest.md'), markdown);
    log('summary written to bench/results/latest.md');
  }
  if (problems.length > 0) {
    for (const p of problems) log(`INVALID: ${p}`);
    throw new Error('the server did not answer every request with a patch: the figures above do not measure the mutation');
  }
}

main().catch((err: unknown) => {
  log(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
