import { execFile } from 'node:child_process';
import { request, type Agent } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { expressListener } from '../../../src/server/express-listener.js';
import type { WebhookListener } from '../../../src/server/protocols.js';

/** A tiny app: the server under test is startHttpsServer, not the admission routes. */
export function helloApp(): WebhookListener {
  return expressListener((app) =>
    app.get('/hello', (_req, res) => {
      res.type('text/plain').send('hello');
    }),
  );
}

export interface Reply {
  status: number;
  body: string;
  /** sha256 fingerprint of the certificate the server presented on this connection. */
  fingerprint: string;
  /** True when the request went over a connection opened earlier (keep-alive). */
  reused: boolean;
}

export function get(port: number, options: { ca: string | string[]; agent: Agent | false; servername: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/hello', ca: options.ca, agent: options.agent, servername: options.servername, minVersion: 'TLSv1.2' },
      (res) => {
        const socket = res.socket as TLSSocket;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body, fingerprint: socket.getPeerCertificate().fingerprint256, reused: req.reusedSocket }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Runs openssl without blocking the event loop (the server under test lives in this process). */
export function openssl(args: string[], input = ''): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile('openssl', args, { timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(input);
  });
}
