import type { Logger } from 'pino';
import type { ReadinessCheck } from './health-routes.js';
import type { StartedServer } from './https-server.js';

export interface ShutdownOptions {
  log: Logger;
  exit?: (code: number) => void;
}

/**
 * The process's way out, installed on main's first line: node is PID 1 in the
 * image, and PID 1 gets no default signal handling, so without a handler a
 * SIGTERM during startup (a ConfigMap list that hangs, say) would do nothing
 * until the kubelet's SIGKILL.
 *
 * Before the server listens: stop what has started, exit 0 at once.
 * While serving, SIGTERM:
 *   1. /readyz fails at once, so the endpoints controller takes the pod out
 *      of the Service; everything keeps being served meanwhile, for `drainMs`
 *      (endpoint removal reaches kube-proxy and the API server's connection
 *      pool only after a while), and HTTP/1.1 answers close their connections;
 *   2. stop accepting, GOAWAY on HTTP/2, close idle HTTP/1.1 connections,
 *      let in-flight reviews finish;
 *   3. exit 0.
 * SIGINT (Ctrl-C; Kubernetes never sends it) or a second signal skips the
 * rest of the drain. What serves no client (the controller loops and their
 * Lease) stops at the signal itself, not after the drain: another replica
 * then leads within a retry period instead of a drain later.
 */
export class Shutdown {
  private readonly servers: StartedServer[] = [];
  private readonly stops: Array<() => void | Promise<void>> = [];
  private readonly atSignal: Array<() => void | Promise<void>> = [];
  private state: 'running' | 'draining' | 'closing' = 'running';
  private endDrain: (() => void) | undefined;
  private readonly exit: (code: number) => void;
  /** How long to keep serving, not ready, after SIGTERM (SHUTDOWN_DRAIN); set once the configuration is read. */
  drainMs = 0;

  constructor(private readonly options: ShutdownOptions) {
    this.exit = options.exit ?? ((code) => process.exit(code));
  }

  install(target: NodeJS.EventEmitter = process): void {
    target.on('SIGTERM', () => void this.begin('SIGTERM'));
    target.on('SIGINT', () => void this.begin('SIGINT'));
  }

  /** A readiness check: not ready from the first signal on. */
  readonly readiness: ReadinessCheck = () => (this.state === 'running' ? undefined : 'shutting down');

  /** Something to stop on the way out (a watch, timers, the leader lease to release), in the order registered; a promise is awaited before exit. */
  onStop(stop: () => void | Promise<void>): void {
    this.stops.push(stop);
  }

  /** Something to stop as soon as a signal arrives, before the drain (the controller: it serves no client, and its Lease should move at once); awaited before exit. */
  onSignal(stop: () => void | Promise<void>): void {
    this.atSignal.push(stop);
  }

  /** A server to drain and close on the way out (the webhook's, the backup API's). */
  serving(server: StartedServer): void {
    this.servers.push(server);
  }

  async begin(signal: string): Promise<void> {
    const { log } = this.options;
    if (this.state !== 'running') {
      if (this.endDrain) log.info({ signal }, 'second signal: ending the drain now');
      this.endDrain?.();
      return;
    }
    this.state = 'draining';
    const stoppedAtSignal = this.stopEach(this.atSignal);
    const servers = [...this.servers];
    if (servers.length === 0) {
      log.info({ signal }, 'signal during startup: exiting');
      await Promise.all([stoppedAtSignal, this.stopAll()]);
      this.exit(0);
      return;
    }
    const drainMs = signal === 'SIGINT' ? 0 : this.drainMs;
    log.info({ signal, drainMs }, 'shutting down: not ready, serving on while clients move away');
    for (const server of servers) server.drain();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, drainMs);
      this.endDrain = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.endDrain = undefined;
    this.state = 'closing';
    log.info('drain over: closing connections once their requests are answered');
    await Promise.all([stoppedAtSignal, this.stopAll(), ...servers.map((server) => server.close())]);
    log.info('shut down');
    this.exit(0);
  }

  private stopAll(): Promise<void> {
    return this.stopEach(this.stops);
  }

  private async stopEach(stops: Array<() => void | Promise<void>>): Promise<void> {
    const stopping: Promise<void>[] = [];
    for (const stop of stops.splice(0)) {
      try {
        const done = stop();
        if (done) stopping.push(done.catch((err: unknown) => this.options.log.warn({ err }, 'stopping a component failed')));
      } catch (err) {
        this.options.log.warn({ err }, 'stopping a component failed');
      }
    }
    await Promise.all(stopping);
  }
}
