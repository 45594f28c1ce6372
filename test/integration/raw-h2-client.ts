import { connect, type TLSSocket } from 'node:tls';

/**
 * An HTTP/2 client written frame by frame over TLS, so a test can do what
 * no well-behaved client library does: open more streams than the server
 * allows, or reset each stream as soon as it is opened (rapid reset,
 * CVE-2023-44487). Enough of RFC 9113 for that and no more: HEADERS with
 * a few static-table HPACK fields, RST_STREAM, SETTINGS (answered with an
 * ACK) and GOAWAY are written or read; every other frame is skipped.
 */
export interface RawH2Connection {
  /** The server's SETTINGS, by identifier (3: MAX_CONCURRENT_STREAMS). */
  settings: Promise<Record<number, number>>;
  /** Opens stream `id` (odd, increasing) with a POST of `path`, body to follow (no END_STREAM). */
  openStream(id: number, path: string): void;
  /** RST_STREAM(CANCEL) on stream `id`. */
  resetStream(id: number): void;
  /** RST_STREAM frames the server sent, by error code. */
  resets: Map<number, number>;
  /** The server's GOAWAY, once it sent one. */
  goaway(): { lastStreamId: number; errorCode: number } | undefined;
  /** Resolves when the connection is closed (by either side). */
  closed: Promise<void>;
  destroy(): void;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME = { HEADERS: 0x1, RST_STREAM: 0x3, SETTINGS: 0x4, GOAWAY: 0x7 } as const;
const FLAG = { ACK: 0x1, END_HEADERS: 0x4 } as const;
const CANCEL = 0x8;

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** An HPACK string literal without Huffman coding (lengths below 127 only). */
function literal(text: string): Buffer {
  const bytes = Buffer.from(text, 'latin1');
  if (bytes.length >= 127) throw new Error('literal too long for this client');
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/** :method POST (static index 3), :scheme https (7), :path (name index 4) and :authority (name index 1) as literals without indexing. */
function headerBlock(path: string): Buffer {
  return Buffer.concat([Buffer.from([0x83, 0x87, 0x04]), literal(path), Buffer.from([0x01]), literal('127.0.0.1')]);
}

export async function rawH2Connect(port: number): Promise<RawH2Connection> {
  const socket: TLSSocket = connect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  if (socket.alpnProtocol !== 'h2') throw new Error(`the server did not choose h2 but ${String(socket.alpnProtocol)}`);
  socket.on('error', () => undefined);
  socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0))]));

  const resets = new Map<number, number>();
  let goaway: { lastStreamId: number; errorCode: number } | undefined;
  let gotSettings!: (settings: Record<number, number>) => void;
  const settings = new Promise<Record<number, number>>((resolve) => (gotSettings = resolve));
  let buffered = Buffer.alloc(0);
  socket.on('data', (data: Buffer) => {
    buffered = Buffer.concat([buffered, data]);
    while (buffered.length >= 9) {
      const length = buffered.readUIntBE(0, 3);
      if (buffered.length < 9 + length) break;
      const [type, flags] = [buffered[3], buffered[4] ?? 0];
      const payload = buffered.subarray(9, 9 + length);
      buffered = buffered.subarray(9 + length);
      if (type === FRAME.SETTINGS && (flags & FLAG.ACK) === 0) {
        const values: Record<number, number> = {};
        for (let i = 0; i + 6 <= payload.length; i += 6) values[payload.readUInt16BE(i)] = payload.readUInt32BE(i + 2);
        socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0, Buffer.alloc(0)));
        gotSettings(values);
      } else if (type === FRAME.RST_STREAM) {
        const code = payload.readUInt32BE(0);
        resets.set(code, (resets.get(code) ?? 0) + 1);
      } else if (type === FRAME.GOAWAY) {
        goaway = { lastStreamId: payload.readUInt32BE(0) & 0x7fffffff, errorCode: payload.readUInt32BE(4) };
      }
    }
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    settings,
    openStream: (id, path) => socket.write(frame(FRAME.HEADERS, FLAG.END_HEADERS, id, headerBlock(path))),
    resetStream: (id) => {
      const code = Buffer.alloc(4);
      code.writeUInt32BE(CANCEL);
      socket.write(frame(FRAME.RST_STREAM, 0, id, code));
    },
    resets,
    goaway: () => goaway,
    closed,
    destroy: () => socket.destroy(),
  };
}
