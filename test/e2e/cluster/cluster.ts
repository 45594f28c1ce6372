// End-to-end test harness: a real kube-apiserver and kube-controller-manager
// v1.20.2 (built once from Debian's source package by provision.sh and cached)
// backed by a private etcd, bound to free loopback ports in a throw-away data
// directory.
// Node built-ins only (plus `yaml` for reading CRD manifests).
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const KUBE_VERSION = 'v1.20.2';

export interface TestCluster {
  /** https://127.0.0.1:<port> */
  server: string;
  /** Admin bearer token (user "admin" in group system:masters). */
  token: string;
  /** PEM of the CA that signed the apiserver serving certificate. */
  caPem: string;
  /** Kubeconfig with that server/token/CA, current context "e2e". */
  kubeconfigPath: string;
  /** Temp dir holding everything (certs, etcd data, logs, kubeconfig). */
  dataDir: string;
  /**
   * The API server's audit log (JSON lines): every request made by a
   * ServiceAccount of namespace AUDITED_NAMESPACE, at level Metadata.
   */
  auditLogPath: string;
  /** Kills controller-manager, apiserver, then etcd (SIGTERM, SIGKILL after 5 s); removes dataDir unless KEEP_E2E=1. Idempotent. */
  stop(): Promise<void>;
  /** An API server outage: stops kube-apiserver alone (SIGTERM, as a control-plane upgrade does); etcd and the controller-manager stay. */
  stopApiserver(): Promise<void>;
  /** Starts kube-apiserver again with the same flags, port and etcd; resolves once it is ready. */
  startApiserver(): Promise<void>;
}

export interface StartClusterOptions {
  /** Extra kube-apiserver flags appended after the defaults (later flags win). */
  extraApiserverArgs?: string[];
  /** Readiness timeout in ms (default 90 000). */
  timeoutMs?: number;
}

export interface ApiResponse {
  status: number;
  body: string;
  /** Parsed JSON body, or undefined if the body is not JSON. */
  json: unknown;
}

// This file runs from test/e2e/cluster (tests) and, compiled, from
// dist/test/e2e/cluster (jest's globalSetup): find the repo root by walking up.
function findRepoRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'test', 'e2e', 'cluster'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the wutong-backup repository root');
    dir = parent;
  }
  return dir;
}
const REPO_ROOT = findRepoRoot();
const PROVISION_SCRIPT = join(REPO_ROOT, 'test', 'e2e', 'cluster', 'provision.sh');
const READY_TIMEOUT_MS = 90_000;
const STOP_GRACE_MS = 5_000;

function cacheDir(): string {
  const env = process.env;
  if (env.CACHE_DIR) return env.CACHE_DIR;
  const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
  return join(base, 'wutong-backup');
}

/** Path of the cached kube-apiserver binary (same rule as provision.sh). */
export function apiserverBinary(): string {
  return join(cacheDir(), `kube-apiserver-${KUBE_VERSION}`);
}

/** Path of the cached kube-controller-manager binary (same rule as provision.sh). */
export function controllerManagerBinary(): string {
  return join(cacheDir(), `kube-controller-manager-${KUBE_VERSION}`);
}

/** Path of Debian's kubectl 1.20 (with its bundled kustomize v2.0.3), unpacked by provision.sh. */
export function kubectl120Binary(): string {
  return join(cacheDir(), `kubectl-${KUBE_VERSION}`);
}

/** The namespace whose ServiceAccounts' requests the audit log records: the shipped manifests' namespace. */
export const AUDITED_NAMESPACE = 'wutong-backup';

/**
 * The controllers a real cluster would run that the tests depend on: owner
 * references cascade, namespaces are finalized, ServiceAccounts and their
 * token Secrets appear, workloads create pods, PVCs bind and are protected,
 * a PV that is no longer bound is let go (pv-protection), and the built-in
 * admin/edit/view ClusterRoles get their rules (clusterrole-aggregation: a
 * tenant bound to `admin` in her namespace has what she has in a real cluster).
 */
const CONTROLLERS = [
  'garbagecollector',
  'namespace',
  'serviceaccount',
  'serviceaccount-token',
  'statefulset',
  'deployment',
  'replicaset',
  'persistentvolume-binder',
  'pvc-protection',
  'pv-protection',
  'clusterrole-aggregation',
];

/** `<repoRoot>/../shared/velero-crds/v<version>` */
export function veleroCrdDir(version: '1.11.1' | '1.18.1'): string {
  return join(REPO_ROOT, '..', 'shared', 'velero-crds', `v${version}`);
}

// ---------------------------------------------------------------------------
// provisioning

/** Runs provision.sh (builds/caches kube-apiserver, installs etcd); output goes to stderr. */
export function provision(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [PROVISION_SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const forward = (chunk: Buffer): void => {
      process.stderr.write(chunk);
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    child.on('error', (err) => reject(new Error(`cannot run ${PROVISION_SCRIPT}: ${err.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      const lines = output.trim().split('\n');
      const errorLine = lines.filter((l) => l.includes('[provision] ERROR:')).pop();
      const message = errorLine
        ? errorLine.replace(/^.*\[provision\] ERROR:\s*/, '')
        : `provision.sh failed (${signal ?? `exit ${code}`}):\n${lines.slice(-30).join('\n')}`;
      reject(new Error(message));
    });
  });
}

// ---------------------------------------------------------------------------
// process bookkeeping: children must never outlive the node process

interface LiveCluster {
  stop(): Promise<void>;
  dataDir: string;
}

const liveChildren = new Set<ChildProcess>();
const liveClusters = new Set<LiveCluster>();
let signalHandlersInstalled = false;

/** process 'exit' handler: synchronous only. */
function killAllSync(): void {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  if (process.env.KEEP_E2E !== '1') {
    for (const cluster of liveClusters) rmSync(cluster.dataDir, { recursive: true, force: true });
  }
}

function onSignal(signal: NodeJS.Signals): void {
  uninstallSignalHandlers();
  const stops = [...liveClusters].map((c) => c.stop().catch(() => undefined));
  const deadline = setTimeout(() => {
    killAllSync();
    process.kill(process.pid, signal);
  }, STOP_GRACE_MS + 2_000);
  void Promise.all(stops).then(() => {
    clearTimeout(deadline);
    process.kill(process.pid, signal); // re-raise with the default handler now in place
  });
}

function installSignalHandlers(): void {
  if (signalHandlersInstalled) return;
  signalHandlersInstalled = true;
  process.on('exit', killAllSync);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function uninstallSignalHandlers(): void {
  if (!signalHandlersInstalled) return;
  signalHandlersInstalled = false;
  process.off('exit', killAllSync);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once('exit', onExit);
  });
}

async function terminate(child: ChildProcess): Promise<void> {
  if (!hasExited(child)) {
    child.kill('SIGTERM');
    if (!(await waitExit(child, STOP_GRACE_MS))) {
      child.kill('SIGKILL');
      await waitExit(child, STOP_GRACE_MS);
    }
  }
  liveChildren.delete(child);
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Webhook calls go to 127.0.0.1; never route them through a proxy.
  for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'ALL_PROXY', 'all_proxy']) delete env[k];
  const goArch: Partial<Record<string, string>> = { arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', arm: 'arm' };
  const arch = goArch[process.arch];
  if (process.arch !== 'x64' && arch && !env.ETCD_UNSUPPORTED_ARCH) env.ETCD_UNSUPPORTED_ARCH = arch;
  return env;
}

function spawnLogged(cmd: string, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: childEnv(), detached: false });
    liveChildren.add(child);
    child.on('error', () => undefined); // reported via exit/readiness checks
    child.once('exit', () => liveChildren.delete(child));
    return child;
  } finally {
    closeSync(fd);
  }
}

function logTail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// ---------------------------------------------------------------------------
// ports, certificates, config

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => resolve(srv));
    })),
  );
  const ports = servers.map((srv) => {
    const addr = srv.address();
    if (addr === null || typeof addr === 'string') throw new Error('unexpected server address');
    return addr.port;
  });
  await Promise.all(servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
  return ports;
}

function run(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve();
    });
  });
}

const OPENSSL_CNF = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.96.0.1
authorityKeyIdentifier = keyid
`;

interface CertPaths {
  caCert: string;
  serverCert: string;
  serverKey: string;
  saKey: string;
  saPub: string;
}

async function generateCerts(dir: string): Promise<CertPaths> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'openssl.cnf'), OPENSSL_CNF);
  const cnf = ['-config', 'openssl.cnf'];
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  const serial = (): string => `0x${randomBytes(16).toString('hex').replace(/^./, '1')}`;
  await Promise.all([
    // TLS keys are ECDSA P-256: RSA key generation costs up to ~0.5 s each.
    run('openssl', ['req', '-x509', ...ec, '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt',
      '-days', '7', '-subj', '/CN=wutong-e2e-ca', '-set_serial', serial(), ...cnf, '-extensions', 'ca_ext'], dir),
    run('openssl', ['req', '-new', ...ec, '-nodes', '-keyout', 'apiserver.key', '-out', 'apiserver.csr',
      '-subj', '/CN=kube-apiserver', ...cnf], dir),
    // Service-account token signing key: RSA 2048 (RS256).
    run('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key'], dir)
      .then(() => run('openssl', ['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir)),
  ]);
  await run('openssl', ['x509', '-req', '-in', 'apiserver.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key',
    '-set_serial', serial(), '-days', '7', '-extfile', 'openssl.cnf', '-extensions', 'server_ext',
    '-out', 'apiserver.crt'], dir);
  return {
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
  };
}

/** A kubeconfig for one bearer token; `namespace` becomes the context's namespace. */
export function kubeconfig(server: string, caPem: string, token: string, user = 'e2e-admin', namespace?: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: e2e',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: e2e',
    '  context:',
    '    cluster: e2e',
    `    user: ${user}`,
    ...(namespace ? [`    namespace: ${namespace}`] : []),
    'current-context: e2e',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------
// HTTP

interface Conn {
  server: string;
  token: string;
  caPem: string;
}

/**
 * Minimal authenticated request to the test apiserver. `body` objects are sent
 * as JSON unless `contentType` says otherwise. Never rejects on HTTP status.
 */
export function apiRequest(
  cluster: Conn,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  timeoutMs = 10_000,
): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, cluster.server);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = httpsRequest(
      url,
      {
        method,
        ca: cluster.caPem,
        agent: false,
        headers: {
          authorization: `Bearer ${cluster.token}`,
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${path}`)));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

function httpGetStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface ServiceAccountJson {
  secrets?: { name?: string }[];
}
interface SecretJson {
  type?: string;
  data?: Record<string, string>;
}

/**
 * Waits until the controller-manager has created ServiceAccount `name` in
 * `namespace` and its token Secret, and returns that token. Pods need their
 * ServiceAccount's token Secret before the ServiceAccount admission plugin
 * lets them in.
 */
export async function waitForServiceAccountToken(
  cluster: Conn,
  namespace: string,
  name = 'default',
  timeoutMs = 60_000,
  stillWorthWaiting: () => void = () => undefined,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    stillWorthWaiting();
    const sa = await apiRequest(cluster, 'GET', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}`, undefined, undefined, 5_000).catch(() => undefined);
    for (const ref of (sa?.json as ServiceAccountJson | undefined)?.secrets ?? []) {
      const secret = await apiRequest(cluster, 'GET', `/api/v1/namespaces/${namespace}/secrets/${ref.name ?? ''}`, undefined, undefined, 5_000).catch(() => undefined);
      const json = secret?.json as SecretJson | undefined;
      const token = json?.type === 'kubernetes.io/service-account-token' ? json.data?.token : undefined;
      if (token) return Buffer.from(token, 'base64').toString('utf8');
    }
    if (Date.now() > deadline) throw new Error(`ServiceAccount ${namespace}/${name} has no token Secret after ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** Requests by ServiceAccounts of AUDITED_NAMESPACE at Metadata level; nothing else. */
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ["system:serviceaccounts:${AUDITED_NAMESPACE}"]
  - level: None
`;

// ---------------------------------------------------------------------------
// cluster

/**
 * Starts etcd + kube-apiserver on free loopback ports and resolves once
 * /readyz is 200 and the `default` namespace exists. Call provision() first.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<TestCluster> {
  const bin = apiserverBinary();
  for (const path of [bin, controllerManagerBinary()]) {
    if (!existsSync(path)) throw new Error(`${path} not provisioned; call provision() first (or run with E2E=0 to skip)`);
  }
  const timeoutMs = options.timeoutMs ?? READY_TIMEOUT_MS;
  const keep = process.env.KEEP_E2E === '1';
  const dataDir = mkdtempSync(join(tmpdir(), 'wutong-e2e-'));
  const etcdLog = join(dataDir, 'etcd.log');
  const apiserverLog = join(dataDir, 'kube-apiserver.log');
  const controllerManagerLog = join(dataDir, 'kube-controller-manager.log');
  const auditLogPath = join(dataDir, 'audit.log');
  const children: ChildProcess[] = [];
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // apiserver first (it still talks to etcd while shutting down), then etcd
      for (const child of [...children].reverse()) await terminate(child);
      liveClusters.delete(handle);
      if (liveClusters.size === 0 && liveChildren.size === 0) uninstallSignalHandlers();
      if (keep) process.stderr.write(`[e2e] KEEP_E2E=1: kept ${dataDir}\n`);
      else rmSync(dataDir, { recursive: true, force: true });
    })();
    return stopping;
  };
  const handle: LiveCluster = { stop, dataDir };
  liveClusters.add(handle);
  installSignalHandlers();

  try {
    const [etcdClientPort, etcdPeerPort, apiPort] = (await freePorts(3)) as [number, number, number];
    const certs = await generateCerts(join(dataDir, 'pki'));
    const caPem = await readFile(certs.caCert, 'utf8');
    const token = randomBytes(24).toString('hex');
    // The controller-manager has its own identity, bound by the API server's
    // bootstrap RBAC; with --use-service-account-credentials each controller
    // then acts as its own ServiceAccount in kube-system, as in a real cluster.
    const controllerManagerToken = randomBytes(24).toString('hex');
    const tokenFile = join(dataDir, 'pki', 'tokens.csv');
    await writeFile(
      tokenFile,
      `${token},admin,admin,system:masters\n${controllerManagerToken},system:kube-controller-manager,system:kube-controller-manager\n`,
      { mode: 0o600 },
    );
    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfigPath = join(dataDir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeconfig(server, caPem, token), { mode: 0o600 });
    const controllerManagerKubeconfig = join(dataDir, 'kube-controller-manager.kubeconfig');
    await writeFile(controllerManagerKubeconfig, kubeconfig(server, caPem, controllerManagerToken, 'system:kube-controller-manager'), { mode: 0o600 });
    const auditPolicyPath = join(dataDir, 'audit-policy.yaml');
    await writeFile(auditPolicyPath, AUDIT_POLICY);

    const etcdUrl = `http://127.0.0.1:${etcdClientPort}`;
    const peerUrl = `http://127.0.0.1:${etcdPeerPort}`;
    const etcd = spawnLogged('etcd', [
      '--name', 'default',
      '--data-dir', join(dataDir, 'etcd'),
      '--listen-client-urls', etcdUrl,
      '--advertise-client-urls', etcdUrl,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `default=${peerUrl}`,
      '--logger', 'zap',
    ], etcdLog);
    children.push(etcd);

    const deadline = Date.now() + timeoutMs;
    while ((await httpGetStatus(`${etcdUrl}/health`)) !== 200) {
      if (hasExited(etcd)) throw new Error(`etcd exited early (code ${etcd.exitCode}):\n${logTail(etcdLog)}`);
      if (Date.now() > deadline) throw new Error(`etcd not healthy after ${timeoutMs} ms:\n${logTail(etcdLog)}`);
      await sleep(100);
    }

    const apiserverArgs = [
      '--advertise-address=127.0.0.1',
      '--bind-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${join(dataDir, 'apiserver-certs')}`,
      `--tls-cert-file=${certs.serverCert}`,
      `--tls-private-key-file=${certs.serverKey}`,
      `--client-ca-file=${certs.caCert}`,
      `--token-auth-file=${tokenFile}`,
      '--authorization-mode=RBAC',
      `--service-account-key-file=${certs.saPub}`,
      `--service-account-signing-key-file=${certs.saKey}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      '--api-audiences=https://kubernetes.default.svc',
      // ServiceAccount is on by default: pods get their namespace's default
      // ServiceAccount and its token, which the controller-manager creates.
      '--enable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook',
      `--audit-policy-file=${auditPolicyPath}`,
      `--audit-log-path=${auditLogPath}`,
      '--audit-log-format=json',
      '--service-cluster-ip-range=10.96.0.0/16',
      '--allow-privileged=true',
      '--profiling=false',
      ...(options.extraApiserverArgs ?? []),
    ];
    const conn: Conn = { server, token, caPem };
    const probe = async (path: string): Promise<number> => {
      try {
        return (await apiRequest(conn, 'GET', path, undefined, undefined, 2_000)).status;
      } catch {
        return 0;
      }
    };
    /** Spawns kube-apiserver (in the place of a stopped one) and waits until it serves. */
    const runApiserver = async (readyBy: number): Promise<ChildProcess> => {
      const apiserver = spawnLogged(bin, apiserverArgs, apiserverLog);
      const slot = children.findIndex((child) => child === apiserverProcess);
      if (slot >= 0) children[slot] = apiserver;
      else children.push(apiserver);
      apiserverProcess = apiserver;
      for (const path of ['/readyz', '/api/v1/namespaces/default']) {
        while ((await probe(path)) !== 200) {
          if (hasExited(apiserver)) {
            throw new Error(`kube-apiserver exited early (code ${apiserver.exitCode}):\n${logTail(apiserverLog)}`);
          }
          if (hasExited(etcd)) throw new Error(`etcd exited (code ${etcd.exitCode}):\n${logTail(etcdLog)}`);
          if (Date.now() > readyBy) {
            throw new Error(`kube-apiserver: ${path} not 200 after ${timeoutMs} ms; log tail:\n${logTail(apiserverLog)}`);
          }
          await sleep(250);
        }
      }
      return apiserver;
    };
    let apiserverProcess: ChildProcess | undefined;
    await runApiserver(deadline);

    const controllerManager = spawnLogged(controllerManagerBinary(), [
      `--kubeconfig=${controllerManagerKubeconfig}`,
      `--controllers=${CONTROLLERS.join(',')}`,
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${certs.saKey}`,
      `--root-ca-file=${certs.caCert}`,
      '--leader-elect=false',
      // Serve nothing: the tests watch what the controllers do, not their endpoints.
      '--port=0',
      '--secure-port=0',
      '--profiling=false',
      '--controller-start-interval=0s',
    ], controllerManagerLog);
    children.push(controllerManager);
    // The default ServiceAccount of `default` with its token Secret shows that
    // the ServiceAccount and token controllers run: pods can be created.
    await waitForServiceAccountToken(conn, 'default', 'default', Math.max(1_000, deadline - Date.now()), () => {
      if (hasExited(controllerManager)) throw new Error(`kube-controller-manager exited early (code ${controllerManager.exitCode})`);
    }).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\ncontroller-manager log tail:\n${logTail(controllerManagerLog)}`);
    });

    const cluster: TestCluster = {
      server,
      token,
      caPem,
      kubeconfigPath,
      dataDir,
      auditLogPath,
      stop,
      stopApiserver: async () => {
        if (apiserverProcess) await terminate(apiserverProcess);
      },
      startApiserver: async () => {
        if (apiserverProcess && !hasExited(apiserverProcess)) return;
        await runApiserver(Date.now() + timeoutMs);
      },
    };
    return cluster;
  } catch (err) {
    await stop();
    throw err;
  }
}

// ---------------------------------------------------------------------------
// CRDs

interface CrdManifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; creationTimestamp?: unknown };
  spec?: { group?: string; names?: { plural?: string }; versions?: { name?: string; served?: boolean }[] };
  status?: unknown;
}

interface Condition {
  type?: string;
  status?: string;
}

/** Removes `default: ""` from `type: string` schema nodes, in place; returns how many. */
function stripEmptyStringDefaults(node: unknown): number {
  if (Array.isArray(node)) return node.reduce((n: number, item: unknown) => n + stripEmptyStringDefaults(item), 0);
  if (typeof node !== 'object' || node === null) return 0;
  const obj = node as Record<string, unknown>;
  let removed = 0;
  if (obj.type === 'string' && obj.default === '') {
    delete obj.default;
    removed++;
  }
  for (const value of Object.values(obj)) removed += stripEmptyStringDefaults(value);
  return removed;
}

function isCrd(doc: unknown): doc is CrdManifest {
  return typeof doc === 'object' && doc !== null && (doc as CrdManifest).kind === 'CustomResourceDefinition';
}

/**
 * Creates or updates (server-side apply, force) every CustomResourceDefinition in
 * `dir/*.yaml`, then waits until each is Established and its served versions answer.
 */
export async function installCrds(cluster: Pick<TestCluster, 'server' | 'token' | 'caPem'>, dir: string, timeoutMs = 60_000): Promise<void> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
  const crds: CrdManifest[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(join(dir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message ?? 'YAML error'}`);
      const value: unknown = doc.toJS();
      if (isCrd(value)) crds.push(value);
    }
  }
  if (crds.length === 0) throw new Error(`no CustomResourceDefinition found in ${dir}`);

  await Promise.all(crds.map(async (crd) => {
    const name = crd.metadata?.name;
    if (!name) throw new Error('CRD without metadata.name');
    const body: CrdManifest = { ...crd, metadata: { ...crd.metadata } };
    delete body.status;
    delete body.metadata?.creationTimestamp;
    const apply = (b: unknown): Promise<ApiResponse> => apiRequest(
      cluster,
      'PATCH',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}?fieldManager=wutong-e2e&force=true`,
      b,
      'application/apply-patch+yaml',
    );
    let res = await apply(body);
    const message = (res.json as { message?: string } | undefined)?.message ?? '';
    if (res.status === 422 && /\.default: Invalid value: "null"/.test(message)) {
      // kube-apiserver 1.20.2 rejects `default: ""` on string properties (it sees
      // the empty default as null). Newer CRDs (e.g. Velero 1.18 secret-ref
      // `name` fields) use it; drop those defaults so the CRD can be installed.
      const removed = stripEmptyStringDefaults(body);
      process.stderr.write(`[e2e] CRD ${name}: removed ${removed} empty-string default(s) rejected by kube-apiserver ${KUBE_VERSION}\n`);
      res = await apply(body);
    }
    if (res.status !== 200 && res.status !== 201) throw new Error(`apply CRD ${name}: HTTP ${res.status} ${res.body}`);
  }));

  const deadline = Date.now() + timeoutMs;
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    for (;;) {
      const res = await apiRequest(cluster, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
      const conditions = (res.json as { status?: { conditions?: Condition[] } } | undefined)?.status?.conditions ?? [];
      if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after ${timeoutMs} ms: ${res.body}`);
      await sleep(100);
    }
    const group = crd.spec?.group;
    const plural = crd.spec?.names?.plural;
    for (const v of crd.spec?.versions ?? []) {
      if (!v.served || !v.name || !group || !plural) continue;
      while ((await apiRequest(cluster, 'GET', `/apis/${group}/${v.name}/${plural}?limit=1`)).status !== 200) {
        if (Date.now() > deadline) throw new Error(`/apis/${group}/${v.name}/${plural} not served after ${timeoutMs} ms`);
        await sleep(100);
      }
    }
  }
}
