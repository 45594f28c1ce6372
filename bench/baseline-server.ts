/**
 * The calibration floor for the benchmark: the same review handling the
 * webhook does (decodeReview, handleReview, the default policy) behind a bare
 * node:https handler, without express, body-parser, metrics or logging.
 * Measured in the same run as the real server, it says how fast this machine
 * is right now, so the webhook's figures can be read against it on a shared,
 * noisy machine. Not a product: it serves POST /mutate and GET /readyz only.
 */
import { readFileSync } from 'node:fs';
import { createServer, type ServerOptions } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { decodeReview, reviewResponse } from '../src/admission/admission-review.js';
import { handleReview } from '../src/admission/review-handler.js';
import { loadDefaultPolicy } from '../src/policy/default-policy.js';

const policy = loadDefaultPolicy(1);
const tlsDir = process.env.TLS_DIR ?? 'certs';
const tls: ServerOptions = {
  cert: readFileSync(join(tlsDir, 'tls.crt')),
  key: readFileSync(join(tlsDir, 'tls.key')),
  minVersion: 'TLSv1.2',
};

function reply(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
}

function mutate(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  let length = 0;
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    length += chunk.length;
  });
  req.on('end', () => {
    try {
      const review = decodeReview(JSON.parse(Buffer.concat(chunks, length).toString('utf8')));
      const result = handleReview(review.request, policy);
      reply(res, 200, 'application/json', JSON.stringify(reviewResponse(review.apiVersion, result.response)));
    } catch (err) {
      reply(res, 400, 'text/plain', `${err instanceof Error ? err.message : String(err)}\n`);
    }
  });
}

const server = createServer(tls, (req, res) => {
  if (req.method === 'POST' && req.url === '/mutate') mutate(req, res);
  else if (req.url === '/readyz') reply(res, 200, 'text/plain', 'ok\n');
  else reply(res, 404, 'text/plain', 'not found\n');
});
server.keepAliveTimeout = 120_000;
server.listen(Number(process.env.PORT ?? 8443), process.env.HOST ?? '127.0.0.1');
process.once('SIGTERM', () => process.exit(0));
