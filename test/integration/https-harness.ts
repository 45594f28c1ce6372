import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest, type Agent, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { generateDevelopmentTls, readTlsDir } from '../../src/certificates/tls-files.js';
import type { PolicyStore } from '../../src/policy/policy-store.js';
import type { BodyBudget } from '../../src/server/body-budget.js';
import { startHttpsServer, type StartedServer } from '../../src/server/https-server.js';
import type { ReadinessCheck } from '../../src/server/health-routes.js';
import { webhookApp, type WebhookAppOptions } from '../../src/server/webhook-app.js';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Whether the request went over a kept-alive connection. */
  reusedSocket: boolean;
}

export interface CallOptions {
  method?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  agent?: Agent;
  /** Extra TLS options for the client, e.g. to offer only an old protocol version. */
  tls?: Pick<RequestOptions, 'minVersion' | 'maxVersion' | 'ciphers'>;
}

export interface Webhook {
  server: StartedServer;
  /** The generated CA: the only certificate the test client trusts. */
  ca: string;
  /** JSON log lines the server wrote. */
  logs: Array<Record<string, unknown>>;
  call(path: string, options?: CallOptions): Promise<Reply>;
  stop(): Promise<void>;
}

function capturingLogger(logs: Array<Record<string, unknown>>): Logger {
  return pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
}

/** The real app on real TLS: development CA and serving certificate for 127.0.0.1, a free port. */
export async function startWebhook(store: PolicyStore, readiness?: ReadonlyMap<string, ReadinessCheck>, budget?: BodyBudget, options: WebhookAppOptions = {}): Promise<Webhook> {
  const dir = mkdtempSync(join(tmpdir(), 'wutong-backup-tls-'));
  generateDevelopmentTls(dir);
  const tls = readTlsDir(dir);
  const logs: Array<Record<string, unknown>> = [];
  const server = await startHttpsServer(webhookApp(store, capturingLogger(logs), { ...options, ...(readiness ? { readiness } : {}), ...(budget ? { budget } : {}) }), tls, 0, '127.0.0.1');
  const call = (path: string, options: CallOptions = {}): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: server.port,
          path,
          method: options.method ?? 'POST',
          ca: tls.ca,
          headers: { 'content-type': 'application/json', ...options.headers },
          agent: options.agent ?? false,
          ...options.tls,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
              reusedSocket: req.reusedSocket,
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(options.body);
    });
  return {
    server,
    ca: tls.ca,
    logs,
    call,
    stop: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Value of one sample in Prometheus text exposition, 0 when the series does not exist yet. */
export function sample(metricsText: string, series: string): number {
  for (const line of metricsText.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return 0;
}
