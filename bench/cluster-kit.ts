// What the cluster benchmarks (records-bench.ts, controller-bench.ts) share:
// a keep-alive client for the test API server, creating objects many at a
// time, free ports and a process's memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { generateDevelopmentTls } from '../src/certificates/tls-files.js';

export const LOAD_CONCURRENCY = 48;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Reply {
  status: number;
  body: string;
}
/** A PATCH is sent as a JSON merge patch; everything else as JSON. */
export type Call = (method: string, path: string, body?: unknown) => Promise<Reply>;

/** Keep-alive client, as a controller would hold one; retries 429 (the API server's max-in-flight). */
export function apiClient(base: string, ca: string, token: string): Call {
  const agent = new Agent({ keepAlive: true, maxSockets: LOAD_CONCURRENCY, ca });
  const once = (method: string, path: string, payload: string | undefined): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const req = request(
        new URL(path, base),
        {
          method,
          agent,
          timeout: 60_000,
          headers: {
            authorization: `Bearer ${token}`,
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path}`)));
      req.on('error', reject);
      req.end(payload);
    });
  return async (method, path, body) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 0; ; attempt++) {
      const reply = await once(method, path, payload);
      if (reply.status !== 429 || attempt > 20) return reply;
      await sleep(100 * (attempt + 1));
    }
  };
}

export async function created(call: Call, path: string, body: unknown): Promise<{ metadata: { name: string; uid: string } }> {
  const reply = await call('POST', path, body);
  if (reply.status !== 201) throw new Error(`POST ${path}: ${reply.status} ${reply.body.slice(0, 300)}`);
  return JSON.parse(reply.body) as { metadata: { name: string; uid: string } };
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export function memoryMiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
}

/** Runs `tasks` with at most `concurrency` at once. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

export const kubeTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
export const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

export function get(url: string, ca: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve) => {
    const req = request(url, { ca, agent: false, headers, timeout: 30_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end();
  });
}


/**
 * The built server (`node dist/src/main.js`) against the bench cluster, with
 * development certificates in `work` (ca.crt there), on two free ports,
 * logging warnings only.
 */
export async function startBenchServer(kubeconfigPath: string, work: string, namespace: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number; apiPort: number }> {
  generateDevelopmentTls(work);
  const [port, apiPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [join(process.cwd(), 'dist', 'src', 'main.js')], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: work,
      KUBECONFIG: kubeconfigPath,
      POD_NAMESPACE: namespace,
      TLS_SOURCE: 'files',
      TLS_DIR: work,
      HOST: '127.0.0.1',
      PORT: String(port),
      API_PORT: String(apiPort),
      LOG_LEVEL: 'warn',
      SHUTDOWN_DRAIN: '0',
      // The bench reads /metrics without a token.
      METRICS_AUTH: 'false',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return { child, port, apiPort };
}

/** SIGKILL for a bench's server on the way out, whatever state the run left it in. */
export function killIfRunning(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
