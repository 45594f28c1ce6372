import { request, Agent } from 'node:https';

export interface ApiAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body exactly as sent: envelopes are compared byte for byte. */
  text: string;
  json: unknown;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Raw body bytes (malformed input tests); wins over body. */
  raw?: string | Buffer;
  /** Defaults to application/json when there is a body; null sends none. */
  contentType?: string | null;
  headers?: Record<string, string>;
}

/**
 * Calls the backup API the way the Wutong console does: HTTPS (the
 * project's serving certificate, checked against its CA), JSON bodies, a
 * bearer token. One keep-alive agent per client, like a real client pool.
 */
export function backupApiClient(baseUrl: string, caPem: string): { call(method: string, path: string, options?: CallOptions): Promise<ApiAnswer>; close(): void } {
  const agent = new Agent({ keepAlive: true, ca: caPem, servername: 'localhost' });
  return {
    call(method, path, options = {}) {
      const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
      return new Promise((resolve, reject) => {
        const req = request(
          baseUrl,
          {
            // Verbatim, not through new URL(): malformed-path tests send "..", "%2F" and bad escapes as they are.
            path,
            method,
            agent,
            headers: {
              accept: 'application/json',
              ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
              ...(payload === undefined ? {} : { ...(options.contentType === null ? {} : { 'content-type': options.contentType ?? 'application/json' }), 'content-length': Buffer.byteLength(payload) }),
              ...options.headers,
            },
            timeout: 30_000,
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
              resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
            });
            res.on('error', reject);
          },
        );
        req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${path}`)));
        req.on('error', reject);
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}
