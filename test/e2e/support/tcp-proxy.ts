import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy (bytes in, bytes out: TLS passes through untouched)
 * that can fail the way real networks do without telling anyone: stall()
 * makes every open connection silently stop forwarding in both directions
 * while both sockets stay open (a half-open connection: no FIN, no RST, no
 * error), while new connections keep working.
 */
export interface TcpProxy {
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  stall(): void;
  /** An API server gone off the network: every open and every new connection stalls (accepted, never answered). */
  blackhole(): void;
  /** A slow API server: every chunk, both ways, is forwarded `ms` late (0: at once again). */
  delay(ms: number): void;
  /** Back to normal for new connections; connections stalled so far are cut (their streams lost bytes). */
  heal(): void;
  close(): Promise<void>;
}

/**
 * `targets` lists the ports to forward to; each new connection goes to one
 * that accepts, tried in random order (like a Service spreading connections
 * over its ready endpoints). No target accepting: the client is disconnected.
 */
export async function startTcpProxy(targets: () => readonly number[]): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket | undefined; stalled: boolean }>();
  let accepted = 0;
  let blackholed = false;
  let delayMs = 0;
  const forward = (pair: { stalled: boolean }, to: Socket, chunk: Buffer): void => {
    if (pair.stalled) return;
    if (delayMs === 0) to.write(chunk);
    // Equal delays fire in the order they were set: the stream stays in order.
    else setTimeout(() => pair.stalled || to.destroyed || to.write(chunk), delayMs);
  };
  const server: Server = createServer((client) => {
    accepted++;
    const pair: { client: Socket; upstream: Socket | undefined; stalled: boolean } = { client, upstream: undefined, stalled: blackholed };
    pairs.add(pair);
    client.pause();
    client.on('error', () => undefined);
    client.on('close', () => {
      pairs.delete(pair);
      if (!pair.stalled) pair.upstream?.destroy();
    });
    const candidates = [...targets()].sort(() => Math.random() - 0.5);
    const tryNext = (): void => {
      const port = candidates.shift();
      if (port === undefined) {
        client.destroy();
        return;
      }
      const upstream = connect(port, '127.0.0.1');
      upstream.once('error', () => {
        if (pair.upstream === upstream) {
          if (!pair.stalled) client.destroy();
        } else tryNext();
      });
      upstream.once('connect', () => {
        pair.upstream = upstream;
        upstream.on('error', () => undefined);
        client.on('data', (chunk: Buffer) => forward(pair, upstream, chunk));
        upstream.on('data', (chunk: Buffer) => forward(pair, client, chunk));
        // A stalled connection keeps both ends open: the whole point is that nobody hears about it.
        client.on('end', () => pair.stalled || upstream.end());
        upstream.on('end', () => pair.stalled || client.end());
        upstream.on('close', () => pair.stalled || client.destroy());
        client.resume();
      });
    };
    tryNext();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy has no port');
  return {
    port: address.port,
    accepted: () => accepted,
    stall: () => {
      for (const pair of pairs) pair.stalled = true;
    },
    blackhole: () => {
      blackholed = true;
      for (const pair of pairs) pair.stalled = true;
    },
    delay: (ms) => {
      delayMs = ms;
    },
    heal: () => {
      blackholed = false;
      delayMs = 0;
      for (const pair of pairs) {
        if (!pair.stalled) continue;
        pairs.delete(pair);
        pair.client.destroy();
        pair.upstream?.destroy();
      }
    },
    close: async () => {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on right now (for a process that must be told its port before it starts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}
