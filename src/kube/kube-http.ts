import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';

/** A non-2xx answer, with the API server's Status message when it sent one. */
export class KubeHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'KubeHttpError';
  }
}

/** No answer at all: connection refused or reset, TLS failure, or the deadline passed. */
export class KubeUnreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeUnreachable';
  }
}

const unreachable = (method: string, path: string, err: unknown, signal: AbortSignal, timeoutMs: number): Error => {
  if (err instanceof KubeHttpError) return err;
  if (signal.aborted) return new KubeUnreachable(`${method} ${path}: no answer from the API server within ${timeoutMs} ms`);
  return new KubeUnreachable(`${method} ${path}: ${(err as Error).message}`);
};

/**
 * Plain GETs against the API server with the kubeconfig's credentials, for
 * what client-node's typed clients do not do well: a JSON list of any
 * resource path, and a watch stream whose bytes the caller can see (so it can
 * tell a quiet watch from a dead connection). Both are bounded: the list by
 * timeoutMs, the stream by the caller's signal.
 */
/** A JSON answer of any status: the caller decides what 404 or 409 means. */
export interface KubeResponse {
  status: number;
  body: unknown;
}

export type KubeMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface KubeHttp {
  /**
   * One request with a JSON body (PATCH: a JSON merge patch), bounded by
   * timeoutMs; resolves with any HTTP status, rejects only when no answer
   * came (network, timeout) or the answer was not JSON.
   */
  send(method: KubeMethod, path: string, body: unknown, timeoutMs: number, query?: Readonly<Record<string, string>>): Promise<KubeResponse>;
  getJson(path: string, query: Readonly<Record<string, string>>, timeoutMs: number): Promise<unknown>;
  /** Resolves when the server ends the stream; rejects on an error, a non-200 answer, or when signal aborts. */
  stream(path: string, query: Readonly<Record<string, string>>, onChunk: (text: string) => void, signal: AbortSignal): Promise<void>;
}

/**
 * client-node's applyToHTTPSOptions makes a new https.Agent on every call, so
 * each request would open and TLS-handshake its own connection (four per
 * component lookup: `npm run bench`'s records phase showed it). One
 * keep-alive agent per set of TLS credentials instead; credentials that
 * change (a rotated client certificate) get a new one. Proxy agents, which
 * client-node also makes, are used as they come.
 */
function keepAliveAgents(): (agent: unknown) => unknown {
  let current: { credentials: string; agent: HttpsAgent } | undefined;
  return (agent) => {
    if (!(agent instanceof HttpsAgent) || Object.getPrototypeOf(agent) !== HttpsAgent.prototype) return agent;
    const o = agent.options;
    const credentials = [o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized, o.servername].map(String).join('\0');
    if (current?.credentials !== credentials) current = { credentials, agent: new HttpsAgent({ ...o, keepAlive: true }) };
    return current.agent;
  };
}

export function kubeHttp(kubeConfig: KubeConfig): KubeHttp {
  const reusable = keepAliveAgents();
  const open = async (
    path: string,
    query: Readonly<Record<string, string>>,
    signal: AbortSignal,
    method: KubeMethod = 'GET',
    payload?: string,
  ): Promise<IncomingMessage> => {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    const url = new URL(cluster.server.replace(/\/$/, '') + path);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
      headers['content-length'] = Buffer.byteLength(payload);
    }
    const options: RequestOptions & Record<string, unknown> = { method, headers };
    await kubeConfig.applyToHTTPSOptions(options);
    options.agent = reusable(options.agent) as RequestOptions['agent'];
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(url, { ...options, signal }, resolve);
      req.on('error', reject);
      req.end(payload);
    });
  };

  return {
    async send(method, path, body, timeoutMs, query = {}) {
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        const response = await open(path, query, signal, method, body === undefined ? undefined : JSON.stringify(body));
        const text = await readAll(response);
        return { status: response.statusCode ?? 0, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
      } catch (err) {
        if (err instanceof SyntaxError) throw err;
        throw unreachable(method, path, err, signal, timeoutMs);
      }
    },
    async getJson(path, query, timeoutMs) {
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        const response = await open(path, query, signal);
        const body = await readAll(response);
        if (response.statusCode !== 200) throw failure(response.statusCode ?? 0, body);
        return JSON.parse(body) as unknown;
      } catch (err) {
        if (err instanceof SyntaxError) throw err;
        throw unreachable('GET', path, err, signal, timeoutMs);
      }
    },
    async stream(path, query, onChunk, signal) {
      const response = await open(path, query, signal);
      if (response.statusCode !== 200) throw failure(response.statusCode ?? 0, await readAll(response));
      response.setEncoding('utf8');
      await new Promise<void>((resolve, reject) => {
        response.on('data', onChunk);
        response.on('end', resolve);
        response.on('error', reject);
        response.on('aborted', () => reject(new Error('watch connection aborted')));
        response.on('close', () => (response.complete ? resolve() : reject(new Error('watch connection closed before the stream ended'))));
      });
    },
  };
}

function readAll(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (body += chunk));
    response.on('end', () => resolve(body));
    response.on('error', reject);
    // Destroyed mid-body (the request's timeout fired): no 'end' will come.
    response.on('close', () => (response.complete ? resolve(body) : reject(new Error('connection closed before the response was complete'))));
  });
}

function failure(status: number, body: string): KubeHttpError {
  let message = body.slice(0, 200);
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') message = parsed.message;
  } catch {
    // not a Status object: keep the start of the body
  }
  return new KubeHttpError(status, `HTTP ${status}: ${message}`);
}

/** The error for a send() answer the caller did not expect: status, what was tried, the API server's message. */
export function unexpectedAnswer(response: KubeResponse, what: string): KubeHttpError {
  const message = (response.body as { message?: unknown } | undefined)?.message;
  return new KubeHttpError(response.status, `${what}: HTTP ${response.status}${typeof message === 'string' ? `: ${message}` : ''}`);
}
