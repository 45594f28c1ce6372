import { createSecureServer, Http2ServerRequest, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { ClientCaTlsOptions } from '../api/auth/client-ca.js';
import type { TlsMaterial } from '../certificates/tls-files.js';
import { connectionsAccepted, connectionsEstablished } from '../observability/metrics.js';
import type { WebhookListener } from './protocols.js';

export interface StartedServer {
  server: Http2SecureServer;
  /** The bound address, so tests can listen on port 0. */
  url: string;
  port: number;
  /** Swap certificate and key without a restart; open connections keep working. */
  setTls(material: TlsMaterial): void;
  /**
   * The first step of a shutdown: everything keeps being served, but each
   * HTTP/1.1 answer now closes its connection, so a client's keep-alive pool
   * reconnects (through the Service, to another replica) instead of reusing
   * this one. HTTP/2 connections are left alone until close() sends GOAWAY,
   * which a client handles without losing a request.
   */
  drain(): void;
  /**
   * Stop accepting connections, send GOAWAY on every HTTP/2 connection, close
   * idle HTTP/1.1 connections and each busy one after its answer; resolves
   * once every connection is gone. In-flight requests finish; whatever is
   * still open after `graceMs` is cut.
   */
  close(graceMs?: number): Promise<void>;
}

// The API server keeps idle connections to webhooks for up to 90 s (Go's
// default); if the server closed them first (Node's HTTP/1.1 default is 5 s)
// the API server would hit reset connections. Stay above 90 s, for HTTP/2
// sessions and HTTP/1.1 connections alike.
const KEEP_ALIVE_MS = 120_000;
// The API server's webhook timeout is at most 30 s and ours is 5 s: an
// in-flight review that has not finished in 10 s has been given up on.
const DEFAULT_CLOSE_GRACE_MS = 10_000;
// Node's default (10 MB per HTTP/2 connection) would refuse streams with
// ENHANCE_YOUR_CALM when a few 3 MiB reviews share the API server's one
// connection; the admission body budget is the memory bound that answers
// properly, so this one must not be the first to trip.
const MAX_SESSION_MEMORY_MB = 128;
// Requests one HTTP/2 connection may have open at once: 250, what Go's own
// HTTP/2 server advertises (x/net/http2's default). Each open stream is a
// request this one thread holds (nghttp2's stream state, a handler, a body
// being buffered); unbounded, one client opens streams faster than they are
// answered (and Node would advertise nothing: Go's client then assumes 1,000).
// What a backlog meets first now: for ordinary 10-20 KB reviews this limit
// (250 of them are ~5 MB, far inside the body budget), for maximum-size ones
// the budget's 429 (eight 3 MiB bodies fill 24 MiB), so memory stays bounded
// by the budget either way. A client that honours the limit queues further
// requests until a stream ends (Node's does; Go's does with
// StrictMaxConcurrentStreams, and by default dials another connection
// instead, but a backlog of 250 is already more than this thread answers
// within a webhook timeout); one that opens more than advertised has its
// connection closed, with at most 250 of its requests ever served at once
// (test/integration/http2-limits.test.ts). kube-apiserver never meets the
// limit: it calls webhooks over HTTP/1.1 (see startHttpsServer).
// Rapid reset (CVE-2023-44487): streams opened and cancelled at once never
// count against this limit, so it is no defence there; nghttp2 is. Node's
// October 2023 security releases updated it to 1.57, whose default limit on
// incoming RST_STREAM frames (a burst of 1,000, then 33 a second) answers
// such a client with GOAWAY, after which none of its new streams is served;
// the Node this runs on (engines >= 20.19; 20.20 bundles nghttp2 1.61) has
// it, and the same test shows it.
const MAX_CONCURRENT_STREAMS = 250;
// Flow-control windows: the defaults (64 KiB per stream and per connection)
// let only four 15 KB reviews travel at once on the API server's single
// connection before it must wait for a WINDOW_UPDATE from this busy thread.
const STREAM_WINDOW_BYTES = 1024 * 1024;
const CONNECTION_WINDOW_BYTES = 32 * 1024 * 1024;

/**
 * The webhook's TLS server: HTTP/2 with HTTP/1.1 still accepted, chosen by
 * ALPN. kube-apiserver itself offers only HTTP/1.1 to admission webhooks
 * (kubernetes#82090; HTTP/2 only for loopback URLs from 1.30,
 * kubernetes#122558), so HTTP/1.1 keep-alive is the path that matters in a
 * cluster; HTTP/2 serves other Go clients with one connection instead of the
 * handshake churn Go's HTTP/1.1 transport causes before Go 1.23
 * (golang/go#59017; see bench/README.md).
 */
export async function startHttpsServer(
  listener: WebhookListener,
  tls: TlsMaterial,
  port: number,
  host?: string,
  /** The backup API with API_CLIENT_CA; the webhook has none. */
  clientCertificates?: ClientCaTlsOptions,
): Promise<StartedServer> {
  let draining = false;
  let closing = false;
  const sessions = new Set<ServerHttp2Session>();
  /** HTTP/1.1 connections and how many requests each is answering right now. */
  const http1 = new Map<TLSSocket, number>();

  const tracked: WebhookListener = (req, res) => {
    if (!(req instanceof Http2ServerRequest)) {
      const socket = req.socket as TLSSocket;
      http1.set(socket, (http1.get(socket) ?? 0) + 1);
      if (draining) res.setHeader('connection', 'close');
      res.once('close', () => {
        const busy = (http1.get(socket) ?? 1) - 1;
        if (!http1.has(socket)) return;
        http1.set(socket, busy);
        if (closing && busy === 0) socket.end();
      });
    }
    listener(req, res);
  };

  const server = createSecureServer(
    {
      cert: tls.cert,
      key: tls.key,
      minVersion: 'TLSv1.2',
      ...clientCertificates,
      allowHTTP1: true,
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
      settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS, initialWindowSize: STREAM_WINDOW_BYTES },
    },
    tracked,
  );
  // HTTP/2 sessions and HTTP/1.1 sockets both idle out after server.timeout;
  // the HTTP/1.1 code path also reads keepAliveTimeout between requests.
  server.setTimeout(KEEP_ALIVE_MS);
  Object.assign(server, { keepAliveTimeout: KEEP_ALIVE_MS });
  server.on('connection', () => connectionsAccepted.inc());
  server.on('secureConnection', (socket: TLSSocket) => {
    const protocol = typeof socket.alpnProtocol === 'string' ? socket.alpnProtocol : 'http/1.1';
    connectionsEstablished.inc({ protocol });
    if (protocol === 'h2') return;
    http1.set(socket, 0);
    socket.once('close', () => http1.delete(socket));
  });
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
    if (closing) session.close();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    port: address.port,
    url: `https://${shownHost === '0.0.0.0' || shownHost === '[::]' ? 'localhost' : shownHost}:${address.port}`,
    setTls: (material) => server.setSecureContext({ cert: material.cert, key: material.key, minVersion: 'TLSv1.2', ...(clientCertificates ? { ca: clientCertificates.ca } : {}) }),
    drain: () => {
      draining = true;
    },
    close: (graceMs = DEFAULT_CLOSE_GRACE_MS) =>
      new Promise<void>((resolve) => {
        draining = true;
        closing = true;
        const cut = setTimeout(() => {
          for (const session of sessions) session.destroy();
          for (const socket of http1.keys()) socket.destroy();
        }, graceMs);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        for (const session of sessions) session.close();
        for (const [socket, busy] of http1) if (busy === 0) socket.end();
      }),
  };
}
