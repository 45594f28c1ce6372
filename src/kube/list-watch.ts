import type { Logger } from 'pino';
import type { KubeHttp } from './kube-http.js';
import { KubeHttpError } from './kube-http.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from './api-client.js';
import { forEachPage } from './paginated-list.js';

/** The part of any Kubernetes object the list-watch itself needs. */
export interface ListedObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface ListWatchHandlers<T extends ListedObject> {
  /** A new object, or a new version of one (from the list or the watch). */
  upsert(object: T): void;
  /**
   * The object is gone (a DELETED event, or absent from a relist). From a
   * relist only its name, namespace and last resourceVersion are known: the
   * list-watch keeps no more of an object than that (a cache keeps what it
   * needs in its own form; full objects with managedFields, held twice, were
   * most of the memory of 20,000 cached Backups).
   */
  remove(object: ListedObject): void;
  /**
   * After every list: whether it worked, and if not why (a 404 is how a
   * missing CRD shows). A failed watch does not call it: the relist after
   * it does.
   */
  listed?(outcome: ListOutcome): void;
}

export type ListOutcome = { ok: true } | { ok: false; status?: number; message: string };

export interface ListWatchOptions {
  /** Collection path, e.g. /api/v1/namespaces/ns/configmaps or /apis/velero.io/v1/backups. */
  path: string;
  fieldSelector?: string;
  labelSelector?: string;
  /**
   * Server-side watch timeout. The API server ends the watch after it (1.20
   * sends its bookmark 2 s before), so a healthy watch carries bytes at least
   * this often: it is what makes the idle deadline below possible.
   */
  watchTimeoutSeconds: number;
  /** No byte for this long means the connection is dead (half-open); default watchTimeoutSeconds + 5 s. */
  idleTimeoutMs?: number;
  /** List again (and start a new watch) at least this often, whatever the watch says. */
  relistIntervalMs: number;
  /** Bound on each list request (each page). */
  requestTimeoutMs?: number;
  /** Objects per list page (limit); default 500, as client-go's pager. */
  pageSize?: number;
  /** First retry delay after a failure; doubles up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** A watch that stayed up this long resets the backoff: one blip after a healthy hour waits initialBackoffMs, not the maximum. */
  healthyAfterMs?: number;
}

export interface ListWatch {
  /** Starts listing and watching; resolves once the first list has been delivered (it retries until then, and keeps watching after). */
  start(): Promise<void>;
  stop(): void;
}

interface WatchEvent {
  type?: string;
  object?: ListedObject & { code?: number; message?: string };
}

/** The watch said 410 Gone: its resourceVersion is too old, list again. */
class Expired extends Error {}

/**
 * List, then watch from the list's resourceVersion, for any resource path;
 * what client-go's reflector does, with the parts that make it hard to
 * silence: every list has a timeout, every watch has a server-side timeout
 * and a client-side idle deadline, 410 relists, errors back off (reset after
 * a healthy period), and a periodic relist catches anything a watch missed.
 */
export function listWatch<T extends ListedObject>(http: KubeHttp, options: ListWatchOptions, handlers: ListWatchHandlers<T>, log: Logger): ListWatch {
  const idleTimeoutMs = options.idleTimeoutMs ?? options.watchTimeoutSeconds * 1000 + 5_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const initialBackoffMs = options.initialBackoffMs ?? 250;
  const maxBackoffMs = options.maxBackoffMs ?? 30_000;
  const healthyAfterMs = options.healthyAfterMs ?? 30_000;
  const pageSize = options.pageSize ?? 500;
  const selectors: Record<string, string> = {
    ...(options.fieldSelector ? { fieldSelector: options.fieldSelector } : {}),
    ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
  };
  const where = { path: options.path, ...selectors };
  const known = new Map<string, ListedObject>();
  let stopped = false;
  let running: AbortController | undefined;
  let wake: (() => void) | undefined;
  let failures = 0;
  let expiredLast = false;
  let firstListDone: (() => void) | undefined;
  const firstList = new Promise<void>((resolve) => (firstListDone = resolve));

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  /**
   * One consistent list in pages of pageSize (forEachPage): 100,000 Backups
   * in one answer took the test API server longer than any sane request
   * timeout, and the whole answer had to be held and parsed at once. An
   * expired continue token (410) starts the list again.
   */
  const relist = async (): Promise<string> => {
    const seen = new Set<string>();
    let resourceVersion: string;
    try {
      ({ resourceVersion } = await forEachPage(
        http,
        options.path,
        selectors,
        requestTimeoutMs,
        (items) => {
          for (const item of items as T[]) {
            const id = key(item);
            seen.add(id);
            if (known.get(id)?.metadata?.resourceVersion === item.metadata?.resourceVersion) continue;
            known.set(id, identity(item));
            handlers.upsert(item);
          }
        },
        pageSize,
      ));
    } catch (err) {
      if (err instanceof KubeHttpError && err.status === 410) throw new Expired(`list continue token expired: ${err.message}`);
      handlers.listed?.({ ok: false, ...(err instanceof KubeHttpError ? { status: err.status } : {}), message: (err as Error).message });
      throw err;
    }
    for (const [id, item] of known) {
      if (seen.has(id)) continue;
      known.delete(id);
      handlers.remove(item);
    }
    handlers.listed?.({ ok: true });
    firstListDone?.();
    return resourceVersion;
  };

  /** One watch request; resolves with the last resourceVersion when the server ends it or `endAt` (epoch ms) passes. */
  const watchOnce = async (from: string, endAt: number): Promise<string> => {
    const controller = new AbortController();
    running = controller;
    let resourceVersion = from;
    let buffered = '';
    let idle: NodeJS.Timeout | undefined;
    let failure: Error | undefined;
    let ended = false;
    // Time for the periodic relist: stop this healthy watch, without counting it as a failure.
    const relistDue = setTimeout(() => {
      ended = true;
      controller.abort();
    }, Math.max(0, endAt - Date.now()));
    const fail = (err: Error): void => {
      failure ??= err;
      controller.abort();
    };
    const armIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => fail(new Error(`no data on the watch for ${idleTimeoutMs} ms: connection presumed dead`)), idleTimeoutMs);
    };
    const onLine = (line: string): void => {
      if (line.trim() === '') return;
      const event = JSON.parse(line) as WatchEvent;
      const object = event.object;
      if (!object) return;
      if (event.type === 'ERROR') {
        if (object.code === 410) fail(new Expired(object.message ?? 'resourceVersion too old'));
        else fail(new Error(`watch error ${object.code ?? ''}: ${object.message ?? 'unknown'}`));
        return;
      }
      resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
      if (event.type === 'BOOKMARK') return;
      const item = object as T;
      if (event.type === 'DELETED') {
        known.delete(key(item));
        handlers.remove(item);
      } else {
        known.set(key(item), identity(item));
        handlers.upsert(item);
      }
    };
    armIdle();
    try {
      await http.stream(
        options.path,
        {
          ...selectors,
          watch: 'true',
          resourceVersion: from,
          allowWatchBookmarks: 'true',
          timeoutSeconds: String(options.watchTimeoutSeconds),
        },
        (chunk) => {
          armIdle();
          buffered += chunk;
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline);
            buffered = buffered.slice(newline + 1);
            try {
              onLine(line);
            } catch (err) {
              fail(new Error(`unreadable watch event: ${(err as Error).message}`));
            }
          }
        },
        controller.signal,
      );
    } catch (err) {
      if (err instanceof KubeHttpError && err.status === 410) throw new Expired(err.message);
      if (!failure && !ended) throw err;
    } finally {
      clearTimeout(idle);
      clearTimeout(relistDue);
      running = undefined;
    }
    if (failure) throw failure;
    return resourceVersion;
  };

  const run = async (): Promise<void> => {
    while (!stopped) {
      try {
        let resourceVersion = await relist();
        const listedAt = Date.now();
        log.debug({ ...where, resourceVersion }, 'listed');
        while (!stopped && Date.now() - listedAt < options.relistIntervalMs) {
          const started = Date.now();
          try {
            resourceVersion = await watchOnce(resourceVersion, listedAt + options.relistIntervalMs);
            expiredLast = false;
          } finally {
            if (Date.now() - started >= healthyAfterMs) {
              failures = 0;
              expiredLast = false;
            }
          }
        }
      } catch (err) {
        if (stopped) return;
        // 410 right after a list would relist in a tight loop: only the first in a row is free.
        if (err instanceof Expired && !expiredLast) {
          expiredLast = true;
          log.debug({ ...where }, 'watch expired (410 Gone); relisting');
          continue;
        }
        failures++;
        const delay = Math.min(maxBackoffMs, initialBackoffMs * 2 ** Math.min(failures - 1, 16));
        log[failures === 1 ? 'info' : 'warn']({ ...where, err: (err as Error).message, failures, retryInMs: delay }, 'list/watch failed; relisting');
        await sleep(delay);
      }
    }
  };

  return {
    start() {
      void run();
      return firstList;
    },
    stop() {
      stopped = true;
      running?.abort();
      wake?.();
    },
  };
}

function key(object: ListedObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

function identity(object: ListedObject): ListedObject {
  const { name, namespace, resourceVersion } = object.metadata ?? {};
  return { metadata: { ...(name !== undefined ? { name } : {}), ...(namespace !== undefined ? { namespace } : {}), ...(resourceVersion !== undefined ? { resourceVersion } : {}) } };
}
