/**
 * The webhook behind the real test API server (`npm run bench:cluster`):
 *   - pod creation through kube-apiserver v1.20.2 at a fixed rate, with and
 *     without the webhook registered (failurePolicy Fail, so every create
 *     really waits for it), and the ratio of their p50 and p99;
 *   - the webhook's RSS in cluster mode (KUBECONFIG at the test API server,
 *     so @kubernetes/client-node is loaded and the policy ConfigMap watched):
 *     idle, after HTTP/2 load at 2,000 req/s, and after a burst of
 *     maximum-size (3 MiB) reviews that the body budget must bound.
 * The cluster comes from test/e2e/cluster (provisioned and cached by the e2e
 * suite's provision.sh). Figures come with the load average they ran under.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDevelopmentTls } from '../src/certificates/tls-files.js';
import { provision, startCluster, type TestCluster } from '../test/e2e/cluster/cluster.js';
import { wutongMysqlPod } from '../test/e2e/support/pods.js';
import { webhookEntry } from '../test/e2e/support/webhook-registration.js';

const ROOT = process.cwd();
const RATE = Number(process.env.BENCH_POD_RATE ?? 20);
const SECONDS = Number(process.env.BENCH_POD_SECONDS ?? 15);
const NAMESPACE = 'bench';
const WEBHOOK_NAMESPACE = 'wutong-backup';
const BURST = 40;

const log = (m: string): void => void process.stderr.write(`bench:cluster: ${m}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Reply {
  status: number;
  body: string;
}

/** Keep-alive client for the API server, as kubectl or a controller would hold one. */
function apiClient(cluster: TestCluster): (method: string, path: string, body?: unknown) => Promise<Reply> {
  const agent = new Agent({ keepAlive: true, maxSockets: 32, ca: cluster.caPem });
  return (method, path, body) =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        new URL(path, cluster.server),
        {
          method,
          agent,
          timeout: 30_000,
          headers: {
            authorization: `Bearer ${cluster.token}`,
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path}`)));
      req.on('error', reject);
      req.end(payload);
    });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function memoryMiB(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
}

interface GoResult {
  sent: number;
  ok: number;
  bad: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
}

/** bench/go-client (kube-apiserver's kind of client) over HTTP/2. */
function goClient(base: string, caFile: string, bodyFile: string, rate: number, duration: string, warmup: string): Promise<GoResult> {
  return new Promise((resolve, reject) => {
    const go = spawn(
      join(ROOT, 'dist', 'bench', 'go-client'),
      [`-url=${base}/mutate?timeout=10s`, `-ca=${caFile}`, `-body=${bodyFile}`, '-proto=h2', `-rate=${rate}`, `-duration=${duration}`, `-warmup=${warmup}`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    go.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    go.on('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('GO_RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice('GO_RESULT '.length)) as GoResult);
      else reject(new Error(`go-client exited ${code}: ${out}`));
    });
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))] ?? Number.NaN;
}

/** Creates pods at a fixed rate (open loop, latency from each one's due time); every create must succeed. */
async function createPods(api: ReturnType<typeof apiClient>, prefix: string, expectMutated: boolean): Promise<{ p50: number; p99: number; n: number }> {
  const total = RATE * SECONDS;
  const start = performance.now();
  const latencies: Array<Promise<number>> = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    latencies.push(
      api('POST', `/api/v1/namespaces/${NAMESPACE}/pods`, wutongMysqlPod(`${prefix}-${i}`)).then((reply) => {
        if (reply.status !== 201) throw new Error(`pod create answered ${reply.status}: ${reply.body.slice(0, 300)}`);
        const annotated = reply.body.includes('pre.hook.backup.velero.io/container'); // the shipped policy's mysql rule
        if (annotated !== expectMutated) throw new Error(`pod ${prefix}-${i} ${expectMutated ? 'not mutated' : 'mutated unexpectedly'}`);
        return performance.now() - due;
      }),
    );
  }
  const sorted = (await Promise.all(latencies)).sort((a, b) => a - b);
  return { p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), n: sorted.length };
}

async function main(): Promise<void> {
  await provision();
  const loadAvg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const cluster = await startCluster();
  const work = mkdtempSync(join(tmpdir(), 'wutong-cluster-bench-'));
  let webhookPid: number | undefined;
  try {
    const api = apiClient(cluster);
    for (const ns of [NAMESPACE, WEBHOOK_NAMESPACE]) {
      await api('POST', '/api/v1/namespaces', { metadata: { name: ns, labels: { 'e2e-suite': ns } } });
    }
    // Pods need the default ServiceAccount, which no controller-manager creates in this harness.
    await api('POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, { metadata: { name: 'default' } });
    await api('POST', `/api/v1/namespaces/${WEBHOOK_NAMESPACE}/configmaps`, {
      metadata: { name: 'wutong-backup-policy' },
      data: { 'policy.yaml': readFileSync(join(ROOT, 'manifests', 'base', 'policy.yaml'), 'utf8') },
    });

    // files mode generates development certificates only when standalone; here they are made up front.
    generateDevelopmentTls(work);
    const port = await freePort();
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'main.js')], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: work,
        KUBECONFIG: cluster.kubeconfigPath,
        POD_NAMESPACE: WEBHOOK_NAMESPACE,
        TLS_SOURCE: 'files',
        TLS_DIR: work,
        HOST: '127.0.0.1',
        PORT: String(port),
        API_PORT: '0',
        LOG_LEVEL: 'warn',
        SHUTDOWN_DRAIN: '0',
        // The bench reads /metrics without a token.
        METRICS_AUTH: 'false',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    webhookPid = child.pid;
    const base = `https://127.0.0.1:${port}`;
    let ca = '';
    for (let i = 0; ; i++) {
      try {
        ca = readFileSync(join(work, 'ca.crt'), 'utf8');
        const ready = await new Promise<number>((resolve) => {
          const req = request(`${base}/readyz`, { ca, agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', () => resolve(0));
          req.end();
        });
        if (ready === 200) break;
      } catch {
        // TLS files not written yet.
      }
      if (i > 300) throw new Error('webhook not ready after 60 s');
      await sleep(200);
    }
    await sleep(10_000);
    const idle = memoryMiB(webhookPid!);
    log(`webhook idle in cluster mode: RSS ${idle.rss.toFixed(1)} MiB`);

    log(`pod creation without the webhook: ${RATE}/s for ${SECONDS} s`);
    const without = await createPods(api, 'plain', false);
    const entry = { ...webhookEntry({ name: 'bench', namespace: NAMESPACE, url: base, caPem: ca, failurePolicy: 'Fail' }) };
    const registered = await api('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', { metadata: { name: 'bench' }, webhooks: [entry] });
    if (registered.status !== 201) throw new Error(`registering the webhook: ${registered.status} ${registered.body}`);
    for (let i = 0; ; i++) {
      const probe = await api('POST', `/api/v1/namespaces/${NAMESPACE}/pods?dryRun=All`, wutongMysqlPod(`probe-${i}`));
      if (probe.body.includes('pre.hook.backup.velero.io/container')) break;
      if (i > 100) throw new Error('the webhook never mutated a pod');
      await sleep(200);
    }
    log(`pod creation with the webhook (failurePolicy Fail): ${RATE}/s for ${SECONDS} s`);
    const withWebhook = await createPods(api, 'mutated', true);
    const afterPods = memoryMiB(webhookPid!);
    // Which protocol the API server's own webhook client negotiated, by the webhook's counters.
    const metrics = await new Promise<string>((resolve, reject) => {
      const req = request(`${base}/metrics`, { ca, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    const apiserverConnections = [...metrics.matchAll(/^wutong_backup_tls_connections_established_total\{protocol="([^"]+)"\} (\d+)/gm)]
      .map((m) => `${m[2]} ${m[1]}`)
      .join(', ');

    // HTTP/2 load straight at the webhook, as the API server's own client sends it.
    const bodyFile = join(work, 'review.json');
    const review = JSON.stringify(JSON.parse(readFileSync(join(ROOT, 'bench', 'mysql-statefulset-review.json'), 'utf8')));
    writeFileSync(bodyFile, review);
    const caFile = join(work, 'ca.crt');
    const load = await goClient(base, caFile, bodyFile, 2000, '10s', '2s');
    const afterLoad = memoryMiB(webhookPid!);

    // A burst of maximum-size reviews in one second over HTTP/2 (the API
    // server's one connection), e.g. a rollout of pods with huge annotations.
    const largeFile = join(work, 'large-review.json');
    writeFileSync(largeFile, review.replace('"annotations":{', `"annotations":{"bench/padding":"${'x'.repeat(3 * 1024 * 1024 - review.length - 64)}",`));
    const burst = await goClient(base, caFile, largeFile, BURST, '1s', '0s');
    const afterBurst = memoryMiB(webhookPid!);
    child.kill('SIGTERM');

    const lines = [
      `# Webhook behind the real API server (kube-apiserver v1.20.2, test/e2e/cluster)`,
      '',
      `${new Date().toISOString()} · load average at start ${loadAvg} · ${RATE} pods/s for ${SECONDS} s per arm, keep-alive client, open loop`,
      '',
      '| Pod creation | pods | p50 | p99 |',
      '|---|---:|---:|---:|',
      `| without the webhook | ${without.n} | ${without.p50.toFixed(1)} ms | ${without.p99.toFixed(1)} ms |`,
      `| with the webhook (failurePolicy Fail) | ${withWebhook.n} | ${withWebhook.p50.toFixed(1)} ms | ${withWebhook.p99.toFixed(1)} ms |`,
      `| ratio | | ${(withWebhook.p50 / without.p50).toFixed(2)}× | ${(withWebhook.p99 / without.p99).toFixed(2)}× |`,
      '',
      `Connections the webhook had established by then (the API server's, plus this bench's readiness probes over HTTP/1.1): ${apiserverConnections}.`,
      '',
      '| Webhook RSS, cluster mode | VmRSS | peak VmHWM |',
      '|---|---:|---:|',
      `| idle (10 s after ready) | ${idle.rss.toFixed(1)} MiB | ${idle.hwm.toFixed(1)} MiB |`,
      `| after the pod-creation runs | ${afterPods.rss.toFixed(1)} MiB | ${afterPods.hwm.toFixed(1)} MiB |`,
      `| after 12 s of HTTP/2 at 2,000 req/s (Go client: p50 ${load.p50Ms} ms, p99 ${load.p99Ms} ms, ${load.ok} of ${load.sent} patched) | ${afterLoad.rss.toFixed(1)} MiB | ${afterLoad.hwm.toFixed(1)} MiB |`,
      `| after ${BURST} reviews of 3 MiB within 1 s over HTTP/2 (${burst.ok} patched, ${burst.bad + burst.errors} refused 429 by the body budget or failed) | ${afterBurst.rss.toFixed(1)} MiB | ${afterBurst.hwm.toFixed(1)} MiB |`,
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    if (webhookPid) {
      try {
        process.kill(webhookPid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await cluster.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
