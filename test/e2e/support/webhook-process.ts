import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../../dist/src/main.js', import.meta.url));

// A test that fails before its afterAll must not leave webhooks running: they
// would keep the jest worker alive and hold ports.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface WebhookProcess {
  /** https://127.0.0.1:<port> */
  url: string;
  /** Where each of its processes serves /metrics: its url, or one per role for a role group (scrapeReplica reads them all). */
  metricsUrls: readonly string[];
  port: number;
  /** The backup API's https://127.0.0.1:<port> (API_PORT, 0 here: any free port); '' for a process without the api role. */
  apiUrl: string;
  apiPort: number;
  /** Whether it answers admission reviews (the webhook role). */
  admission: boolean;
  pid: number;
  /** PEM of the CA that signed the serving certificate (TLS_DIR/ca.crt); empty in self mode, where the CA lives in a Secret. */
  caPem: string;
  tlsDir: string;
  /** Every log line so far, parsed. */
  logs: Array<Record<string, unknown>>;
  /** Resolves when a log line satisfies the predicate (or rejects after timeoutMs). */
  /** Whether the process is still running (it has not exited or been killed). */
  alive(): boolean;
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
  /** Sends `signal` (SIGKILL: a node lost, no shutdown code runs) and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Runs the built webhook (`node dist/src/main.js`, what `npm start` runs) as
 * a child process with the given environment, and waits until it serves.
 * Without KUBECONFIG it runs standalone: HOME points at an empty folder so a
 * developer's own ~/.kube/config is never picked up by accident.
 */
export async function startWebhookProcess(env: Record<string, string> = {}): Promise<WebhookProcess> {
  const home = mkdtempSync(join(tmpdir(), 'wb-e2e-home-'));
  const tlsDir = env.TLS_DIR ?? join(home, 'certs');
  const child: ChildProcess = spawn(process.execPath, [MAIN], {
    // /metrics is authenticated as shipped: the scenarios scrape it with the
    // monitoring overlay's reader token (support/metrics-reader.ts).
    // AUTH_FAILURE_LIMIT off: every scenario calls from 127.0.0.1, and the
    // input fuzz mixes hundreds of bad tokens with the console's, which the
    // per-source limit would answer with 429s the scenarios do not expect
    // (tested in test/integration/api/api-auth); a scenario may turn it on.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      PORT: '0',
      API_PORT: '0',
      HOST: '127.0.0.1',
      TLS_DIR: tlsDir,
      LOG_LEVEL: 'debug',
      SHUTDOWN_DRAIN: '1s',
      AUTH_FAILURE_LIMIT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const logs: Array<Record<string, unknown>> = [];
  const waiters = new Set<{ predicate: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }>();
  let stderr = '';
  let buffered = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        const parsed = JSON.parse(line) as Record<string, unknown>;
        logs.push(parsed);
        for (const w of waiters) if (w.predicate(parsed)) {
          waiters.delete(w);
          w.resolve(parsed);
        }
      } catch {
        // not a log line
      }
    }
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLog = (predicate: (l: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> => {
    const existing = logs.find(predicate);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const waiter = { predicate, resolve };
      waiters.add(waiter);
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`webhook did not log the expected line within ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}; last logs: ${JSON.stringify(logs.slice(-5))}`));
      }, timeoutMs);
      void exited.then((code) => {
        if (!waiters.has(waiter)) return;
        waiters.delete(waiter);
        clearTimeout(timer);
        reject(new Error(`webhook exited with ${code} before logging the expected line; stderr: ${stderr.slice(-2000)}; logs: ${JSON.stringify(logs.slice(-5))}`));
      });
      const original = waiter.resolve;
      waiter.resolve = (l) => {
        clearTimeout(timer);
        original(l);
      };
    });
  };

  let serving: Record<string, unknown>;
  let apiServing: Record<string, unknown> | undefined;
  // ROLE (src/roles/role.ts): every role serves its probes and /metrics on PORT; only the api role listens on API_PORT.
  const servesApi = env.ROLE === undefined || env.ROLE === 'all' || env.ROLE.split(',').map((r) => r.trim()).includes('api');
  try {
    serving = await waitForLog((l) => l.msg === 'webhook serving' || l.msg === 'probes and metrics serving');
    if (servesApi) apiServing = await waitForLog((l) => l.msg === 'backup API serving');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const url = String(serving.url).replace('localhost', '127.0.0.1');
  const port = Number(new URL(url).port);
  const apiUrl = apiServing ? String(apiServing.url).replace('localhost', '127.0.0.1') : '';
  let stopped = false;
  return {
    url,
    metricsUrls: [url],
    port,
    apiUrl,
    apiPort: apiUrl ? Number(new URL(apiUrl).port) : 0,
    admission: serving.admission !== false,
    pid: child.pid ?? 0,
    caPem: existsSync(join(tlsDir, 'ca.crt')) ? readFileSync(join(tlsDir, 'ca.crt'), 'utf8') : '',
    tlsDir,
    logs,
    alive: () => child.exitCode === null && child.signalCode === null,
    waitForLog,
    kill: async (signal) => {
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      rmSync(home, { recursive: true, force: true });
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      rmSync(home, { recursive: true, force: true });
    },
  };
}
