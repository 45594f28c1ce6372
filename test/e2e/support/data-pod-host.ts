import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { imageProgram, type ImageProgram } from './container-images.js';
import { startContainerProcess, type ContainerExit, type ContainerProcess, type VolumeBind } from './container-process.js';
import type { PodHost } from './kubelet-stand-in.js';
import { ExecUnavailable, type ExecResult, type NodeRuntime, type PodRef } from './node-runtime.js';
import { mountPodVolumes, removePodDir, type MountedVolume } from './pod-volumes.js';

/**
 * THE DATA-BEARING NODE'S POD LIFECYCLE (test helper playing the kubelet's
 * pod workers, kubernetes v1.20 pkg/kubelet): per pod, mount the volumes
 * (pod-volumes.ts; a pod whose volumes cannot be mounted stays Pending with
 * its containers waiting in ContainerCreating), run the init containers one
 * at a time, each to exit 0 before the next starts
 * (pkg/kubelet/kuberuntime/kuberuntime_manager.go computePodActions), then
 * the app containers; restart exited containers per restartPolicy with the
 * kubelet's crash-loop backoff (pkg/kubelet/kubelet.go backOffPeriod 10 s,
 * doubling, MaxContainerBackOff 300 s; the first restart is immediate);
 * report status as pkg/kubelet/kubelet_pods.go generateAPIPodStatus/getPhase
 * does (phase Pending until the init containers completed and every app
 * container started; conditions from pkg/kubelet/status/generate.go).
 * Deletion: SIGTERM, SIGKILL when the grace period ends
 * (kuberuntime_container.go killContainer); a pod gone from the API
 * (force-deleted, grace 0) is SIGKILLed at once.
 */

const BACKOFF_INITIAL_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;
type ContainerStateJson = Record<string, Record<string, unknown>>;

/** The readiness check of a known image with no readinessProbe of its own: the one its Wutong component's probe makes. */
const IMAGE_READINESS: Partial<Record<ImageProgram['kind'], string[]>> = {
  mariadb: ['mariadb-admin', '--socket=/run/mysqld/mysqld.sock', 'ping'],
  postgres: ['pg_isready', '-q', '-h', '/var/run/postgresql'],
};

class ContainerRun {
  process: ContainerProcess | undefined;
  state: ContainerStateJson;
  lastState: ContainerStateJson = {};
  restartCount = 0;
  ready = false;
  /** An init container that exited 0. */
  completed = false;
  /** Will not run again (restartPolicy). */
  finished = false;
  nextStartAt = 0;
  backoffMs = 0;
  env: Record<string, string> = {};
  exit: ContainerExit | undefined;
  probeTimer: NodeJS.Timeout | undefined;
  probeFailures = 0;
  /** Process groups of execs into this container: they live in its cgroup in a cluster and die with it. */
  readonly execGroups = new Set<number>();

  constructor(
    readonly spec: V1Container,
    readonly init: boolean,
    readonly program: ImageProgram | undefined,
  ) {
    this.state = { waiting: { reason: init ? 'PodInitializing' : 'ContainerCreating' } };
  }

  get running(): boolean {
    return 'running' in this.state;
  }
}

const iso = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');

class EnvError extends Error {}

function killExecs(run: ContainerRun): void {
  for (const group of run.execGroups) {
    try {
      process.kill(-group, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  run.execGroups.clear();
}

/** The container's env as the kubelet makes it (kubelet_pods.go makeEnvironmentVariables): literal values and the pod fieldRefs. */
function containerEnv(pod: V1Pod, container: V1Container, nodeName: string, podIP: string): Record<string, string> {
  const fields: Record<string, string | undefined> = {
    'metadata.name': pod.metadata?.name,
    'metadata.namespace': pod.metadata?.namespace,
    'metadata.uid': pod.metadata?.uid,
    'spec.nodeName': nodeName,
    'spec.serviceAccountName': pod.spec?.serviceAccountName,
    'status.hostIP': '127.0.0.1',
    'status.podIP': podIP,
  };
  const env: Record<string, string> = {};
  const expand = (value: string): string => value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole);
  for (const e of container.env ?? ([] as V1EnvVar[])) {
    if (e.valueFrom === undefined) env[e.name] = expand(e.value ?? '');
    else if (e.valueFrom.fieldRef) {
      const value = fields[e.valueFrom.fieldRef.fieldPath];
      if (value === undefined) throw new EnvError(`env ${e.name}: fieldRef ${e.valueFrom.fieldRef.fieldPath} is not supported by the data-bearing node`);
      env[e.name] = value;
    } else throw new EnvError(`env ${e.name}: only values and fieldRefs are supported by the data-bearing node`);
  }
  return env;
}

class DataPod {
  pod: V1Pod;
  volumes: MountedVolume[] | undefined;
  volumeError = '';
  readonly init: ContainerRun[];
  readonly app: ContainerRun[];
  readonly startTime = new Date();
  terminating = false;
  private readonly transitions = new Map<string, { status: string; time: string }>();

  constructor(
    pod: V1Pod,
    readonly podDir: string,
    readonly logDir: string,
    readonly podIP: string,
    readonly host: { nodeName: string; nodeLabels: Record<string, string>; binDir: string; exec: (run: ContainerRun, argv: readonly string[], timeoutMs: number) => Promise<ExecResult> },
  ) {
    this.pod = pod;
    const context = { nodeBinDir: host.binDir };
    // kubernetes v1.20 pkg/securitycontext/util.go DetermineEffectiveSecurityContext: the pod's runAsUser and
    // runAsGroup apply to a container that sets none of its own.
    const podUser = pod.spec?.securityContext;
    const effective = (c: V1Container): V1Container => ({
      ...c,
      securityContext: {
        ...(podUser?.runAsUser !== undefined ? { runAsUser: podUser.runAsUser } : {}),
        ...(podUser?.runAsGroup !== undefined ? { runAsGroup: podUser.runAsGroup } : {}),
        ...c.securityContext,
      },
    });
    this.init = (pod.spec?.initContainers ?? []).map((c) => new ContainerRun(c, true, imageProgram(effective(c), context)));
    this.app = (pod.spec?.containers ?? []).map((c) => new ContainerRun(c, false, imageProgram(effective(c), context)));
  }

  get uid(): string {
    return this.pod.metadata?.uid ?? '';
  }

  private get restartPolicy(): string {
    return this.pod.spec?.restartPolicy ?? 'Always';
  }

  async sync(pod: V1Pod): Promise<Record<string, unknown>> {
    this.pod = pod;
    if (this.terminating) return this.status();
    if (!this.volumes) {
      try {
        this.volumes = await mountPodVolumes(pod, this.podDir, this.host.nodeLabels);
        this.volumeError = '';
      } catch (err) {
        this.volumeError = (err as Error).message;
      }
    }
    if (this.volumes) this.advance();
    return this.status();
  }

  /** One step of computePodActions: the next init container, or every app container that should run. */
  private advance(): void {
    const now = Date.now();
    for (const run of [...this.init, ...this.app]) if (run.exit) this.handleExit(run, run.exit);
    if (this.init.some((r) => r.finished && !r.completed)) return; // an init container failed for good: the pod is Failed
    const pendingInit = this.init.find((r) => !r.completed);
    if (pendingInit) {
      if (!pendingInit.running && now >= pendingInit.nextStartAt) this.start(pendingInit);
      return;
    }
    for (const run of this.app) if (!run.running && !run.finished && now >= run.nextStartAt) this.start(run);
  }

  private start(run: ContainerRun): void {
    try {
      run.env = { ...(run.program?.imageEnv ?? {}), ...containerEnv(this.pod, run.spec, this.host.nodeName, this.podIP) };
    } catch (err) {
      if (!(err instanceof EnvError)) throw err;
      run.state = { waiting: { reason: 'CreateContainerConfigError', message: err.message } };
      return;
    }
    const startedAt = iso(new Date());
    if (!run.program) {
      // An image the testbed does not know runs no process: an init container counts as done, an app container as running.
      if (run.init) {
        run.state = { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt: startedAt } };
        run.completed = true;
        run.finished = true;
      } else {
        run.state = { running: { startedAt } };
        run.ready = true;
      }
      return;
    }
    const binds: VolumeBind[] = [];
    for (const mount of run.spec.volumeMounts ?? []) {
      const volume = this.volumes?.find((v) => v.name === mount.name);
      if (!volume) continue;
      let source = volume.hostDir;
      if (mount.subPath) {
        source = join(source, mount.subPath);
        mkdirSync(source, { recursive: true });
      }
      binds.push({ source, target: mount.mountPath, readOnly: mount.readOnly === true || volume.readOnly });
    }
    const process = startContainerProcess({
      program: run.program,
      binds,
      env: run.env,
      logPath: join(this.logDir, run.spec.name, `${run.restartCount}.log`),
    });
    run.process = process;
    run.exit = undefined;
    run.ready = false;
    run.probeFailures = 0;
    run.state = { running: { startedAt: iso(process.startedAt) } };
    void process.exited.then((exit) => {
      if (run.process === process) run.exit = exit;
    });
    if (!run.init) this.startReadiness(run);
  }

  /** The readinessProbe's exec command (pkg/kubelet/prober), or the image's own check when it has none; no check: ready when running. */
  private startReadiness(run: ContainerRun): void {
    const probe = run.spec.readinessProbe;
    const command = probe?.exec?.command ?? (probe ? undefined : run.program ? IMAGE_READINESS[run.program.kind] : undefined);
    if (!command) {
      run.ready = true;
      return;
    }
    const periodMs = (probe?.periodSeconds ?? (probe ? 10 : 1)) * 1000;
    const timeoutMs = (probe?.timeoutSeconds ?? 1) * 1000;
    const failureThreshold = probe?.failureThreshold ?? 3;
    const process = run.process;
    const tick = (): void => {
      if (run.process !== process || !process?.running() || this.terminating) return;
      void this.host.exec(run, command, Math.max(timeoutMs, 1000)).then(
        (result) => {
          if (result.exitCode === 0) {
            run.ready = true;
            run.probeFailures = 0;
          } else if (++run.probeFailures >= failureThreshold) run.ready = false;
        },
        () => undefined,
      ).finally(() => {
        if (run.process === process && process.running() && !this.terminating) run.probeTimer = setTimeout(tick, periodMs);
      });
    };
    run.probeTimer = setTimeout(tick, (probe?.initialDelaySeconds ?? 0) * 1000);
  }

  private handleExit(run: ContainerRun, exit: ContainerExit): void {
    run.exit = undefined;
    killExecs(run);
    if (run.probeTimer) clearTimeout(run.probeTimer);
    run.ready = false;
    const running = run.state.running as { startedAt?: string } | undefined;
    const terminated = {
      exitCode: exit.exitCode,
      ...(exit.signal ? { signal: exit.signal } : {}),
      reason: exit.exitCode === 0 ? 'Completed' : 'Error',
      startedAt: running?.startedAt ?? iso(exit.finishedAt),
      finishedAt: iso(exit.finishedAt),
    };
    run.state = { terminated };
    if (this.terminating) return;
    const policy = this.restartPolicy;
    const restart = run.init ? exit.exitCode !== 0 && policy !== 'Never' : policy === 'Always' || (policy === 'OnFailure' && exit.exitCode !== 0);
    if (run.init && exit.exitCode === 0) run.completed = true;
    if (!restart) {
      run.finished = true;
      return;
    }
    run.lastState = { terminated };
    run.restartCount++;
    run.nextStartAt = Date.now() + run.backoffMs;
    if (run.backoffMs > 0) run.state = { waiting: { reason: 'CrashLoopBackOff', message: `back-off ${run.backoffMs / 1000}s restarting failed container=${run.spec.name} pod=${this.pod.metadata?.name ?? ''}` } };
    run.backoffMs = run.backoffMs === 0 ? BACKOFF_INITIAL_MS : Math.min(run.backoffMs * 2, BACKOFF_MAX_MS);
  }

  /** getPhase (kubelet_pods.go). */
  private phase(): string {
    if (this.init.some((r) => r.finished && !r.completed)) return 'Failed';
    if (!this.volumes || this.init.some((r) => !r.completed)) return 'Pending';
    let running = 0;
    let waiting = 0;
    let stopped = 0;
    let succeeded = 0;
    for (const run of this.app) {
      if (run.running) running++;
      else if ('terminated' in run.state) {
        stopped++;
        if (run.state.terminated?.exitCode === 0) succeeded++;
      } else if ('terminated' in run.lastState) stopped++;
      else waiting++;
    }
    if (waiting > 0) return 'Pending';
    if (running > 0) return 'Running';
    if (stopped > 0 && this.restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    return 'Failed';
  }

  private condition(type: string, ok: boolean, reason?: string, message?: string): Record<string, unknown> {
    const status = ok ? 'True' : 'False';
    const previous = this.transitions.get(type);
    const time = previous && previous.status === status ? previous.time : iso(new Date());
    this.transitions.set(type, { status, time });
    return { type, status, lastProbeTime: null, lastTransitionTime: time, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
  }

  private containerStatus(run: ContainerRun): Record<string, unknown> {
    let state = run.state;
    if (!this.volumes && 'waiting' in state) state = { waiting: { reason: run.init || this.init.length === 0 ? 'ContainerCreating' : 'PodInitializing' } };
    else if (!run.init && this.init.some((r) => !r.completed) && 'waiting' in state) state = { waiting: { reason: 'PodInitializing' } };
    return {
      name: run.spec.name,
      image: run.spec.image ?? '',
      imageID: '',
      ...(run.process ? { containerID: `stand-in://${run.process.pid}` } : {}),
      ready: run.init ? run.completed : run.ready && run.running,
      started: run.running,
      restartCount: run.restartCount,
      state,
      lastState: run.lastState,
    };
  }

  status(): Record<string, unknown> {
    const incompleteInit = this.init.filter((r) => !r.completed).map((r) => r.spec.name);
    const notReady = this.app.filter((r) => !(r.ready && r.running)).map((r) => r.spec.name);
    const initialized = incompleteInit.length === 0;
    const containersReady = notReady.length === 0;
    const conditions = [
      this.condition('Initialized', initialized, initialized ? undefined : 'ContainersNotInitialized', initialized ? undefined : `containers with incomplete status: [${incompleteInit.join(' ')}]`),
      this.condition('Ready', containersReady, containersReady ? undefined : 'ContainersNotReady', containersReady ? undefined : `containers with unready status: [${notReady.join(' ')}]`),
      this.condition('ContainersReady', containersReady, containersReady ? undefined : 'ContainersNotReady', containersReady ? undefined : `containers with unready status: [${notReady.join(' ')}]`),
      this.condition('PodScheduled', true),
    ];
    return {
      phase: this.phase(),
      conditions,
      hostIP: '127.0.0.1',
      podIP: this.podIP,
      podIPs: [{ ip: this.podIP }],
      startTime: iso(this.startTime),
      ...(this.init.length > 0 ? { initContainerStatuses: this.init.map((r) => this.containerStatus(r)) } : {}),
      containerStatuses: this.app.map((r) => this.containerStatus(r)),
      // The kubelet's FailedMount event says why; the testbed keeps it on the pod, where a test can read it.
      message: this.volumeError ? `unable to mount volumes: ${this.volumeError}` : null,
    };
  }

  private runs(): ContainerRun[] {
    return [...this.init, ...this.app];
  }

  /** SIGTERM now, SIGKILL at `killAt`; resolves when every process has exited and, for containers with no process, the grace period has ended. */
  async terminate(killAt: number): Promise<void> {
    this.terminating = true;
    const live = this.runs().filter((r) => r.process?.running());
    for (const run of this.runs()) if (run.probeTimer) clearTimeout(run.probeTimer);
    for (const run of live) run.process?.signal(killAt <= Date.now() ? 'SIGKILL' : 'SIGTERM');
    for (const run of this.runs()) killExecs(run);
    const killer = setTimeout(() => {
      for (const run of live) run.process?.signal('SIGKILL');
    }, Math.max(0, killAt - Date.now()));
    await Promise.all(live.flatMap((r) => (r.process ? [r.process.exited] : [])));
    clearTimeout(killer);
    if (this.app.some((r) => !r.program && r.running)) await new Promise((r) => setTimeout(r, Math.max(0, killAt - Date.now())));
    for (const run of live) if (run.exit) this.handleExit(run, run.exit);
  }

  runsForCleanup(): readonly ContainerRun[] {
    return this.runs();
  }

  processFor(container: string): ContainerRun | undefined {
    return this.runs().find((r) => r.spec.name === container);
  }
}

export interface DataPodHostOptions {
  nodeName: string;
  root: string;
  nodeLabels: Record<string, string>;
  binDir: string;
}

export interface DataPodHost extends PodHost {
  runtime: NodeRuntime;
  /** SIGKILLs every process of every pod (the node goes away). */
  killAll(): Promise<void>;
}

/**
 * A pod IP other pods (and the test) can reach, as a real cluster's pod IPs
 * are: an address on the loopback (Linux routes all of 127.0.0.0/8 to lo),
 * 127.<from the pid>.<n>: two data nodes in two test processes get
 * different addresses. A container on the node's network (this project's
 * image) that binds its POD_IP (downward API status.podIP) is reachable
 * there; 10.245.0.x, what this stand-in gave before, reached nothing.
 */
export function reachablePodIP(n: number, pid = process.pid): string {
  const block = 2 + (pid % 250);
  const index = n % (250 * 254);
  return `127.${block}.${Math.floor(index / 254)}.${1 + (index % 254)}`;
}

/** The pods a data-bearing node runs, as the kubelet's pod workers would: one DataPod per pod uid. */
export function dataPodHost(options: DataPodHostOptions): DataPodHost {
  const pods = new Map<string, DataPod>();
  let ip = 0;
  const podsRoot = join(options.root, 'pods');
  const logsRoot = join(options.root, 'logs');

  const execIn = (run: ContainerRun, argv: readonly string[], timeoutMs: number): Promise<ExecResult> => {
    const process = run.process;
    if (!process?.running() || !run.program) return Promise.reject(new ExecUnavailable(`container ${run.spec.name} runs no process on this node`));
    const user = run.program.user;
    const workingDir = run.spec.workingDir ?? run.program.workingDir;
    const args = [
      '--target', String(process.pid), '--mount', ...(process.ownNetwork ? ['--net'] : []),
      ...(user ? [`--setuid=${user.uid}`, `--setgid=${user.gid}`] : []),
      `--wd=${workingDir}`, '--', ...argv,
    ];
    return new Promise((resolve, reject) => {
      const child = spawn('nsenter', args, { env: run.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      const group = child.pid;
      if (group !== undefined) run.execGroups.add(group);
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid !== undefined) globalThis.process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }, timeoutMs);
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new ExecUnavailable(`nsenter could not run: ${err.message}`));
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        if (group !== undefined) run.execGroups.delete(group);
        resolve({ exitCode: timedOut ? undefined : (code ?? undefined), stdout, stderr, timedOut });
      });
    });
  };

  const forget = async (uid: string, pod: DataPod): Promise<void> => {
    pods.delete(uid);
    await pod.terminate(Date.now());
    removePodDir(pod.podDir);
  };

  // A test worker that exits without stop() must not leave servers behind: their process groups are detached.
  const killLeftovers = (): void => {
    for (const pod of pods.values()) {
      for (const run of pod.runsForCleanup()) {
        run.process?.signal('SIGKILL');
        killExecs(run);
      }
    }
  };
  process.on('exit', killLeftovers);

  const runtime: NodeRuntime = {
    nodeName: options.nodeName,
    root: options.root,
    volumeDir(podUid, volume) {
      return pods.get(podUid)?.volumes?.find((v) => v.name === volume)?.hostDir;
    },
    async exec(ref: PodRef, container, command, timeoutMs) {
      const pod = pods.get(ref.uid);
      if (!pod || pod.pod.metadata?.name !== ref.name || pod.pod.metadata?.namespace !== ref.namespace) {
        throw new ExecUnavailable(`pod ${ref.namespace}/${ref.name} (uid ${ref.uid}) does not run on node ${options.nodeName}`);
      }
      const run = pod.processFor(container);
      if (!run) throw new ExecUnavailable(`container ${container} is not valid for pod ${ref.name}`);
      return execIn(run, command, timeoutMs);
    },
  };

  return {
    runtime,
    async sync(pod) {
      const uid = pod.metadata?.uid ?? '';
      let known = pods.get(uid);
      if (!known) {
        const dirName = `${pod.metadata?.namespace ?? ''}_${pod.metadata?.name ?? ''}_${uid}`;
        known = new DataPod(pod, join(podsRoot, uid), join(logsRoot, dirName), reachablePodIP(ip++), {
          nodeName: options.nodeName,
          nodeLabels: options.nodeLabels,
          binDir: options.binDir,
          exec: execIn,
        });
        pods.set(uid, known);
      }
      return known.sync(pod);
    },
    async terminate(pod) {
      const known = pods.get(pod.metadata?.uid ?? '');
      const deletionTimestamp = pod.metadata?.deletionTimestamp;
      const killAt = deletionTimestamp ? new Date(deletionTimestamp).getTime() : Date.now();
      if (!known) {
        await new Promise((r) => setTimeout(r, Math.max(0, killAt - Date.now())));
        return;
      }
      await known.terminate(killAt);
    },
    async deleted(uid) {
      const known = pods.get(uid);
      if (known) await forget(uid, known);
    },
    async forgetAllBut(uids) {
      await Promise.all([...pods].filter(([uid]) => !uids.has(uid)).map(([uid, pod]) => forget(uid, pod)));
    },
    async killAll() {
      await Promise.all([...pods].map(([uid, pod]) => forget(uid, pod)));
      process.off('exit', killLeftovers);
    },
  };
}
