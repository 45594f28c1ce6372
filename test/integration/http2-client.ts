import { connect, constants, type ClientHttp2Session } from 'node:http2';

export interface H2Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An HTTP/2 connection to the server under test, trusting only `ca` (what Go clients negotiate when offered). */
export function h2Connect(port: number, ca: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(`https://127.0.0.1:${port}`, { ca, minVersion: 'TLSv1.2' });
    session.once('connect', () => {
      session.off('error', reject);
      resolve(session);
    });
    session.once('error', reject);
  });
}

/** One request stream on `session`; `body` may be a function that writes it (slowly, say). */
export function h2Request(
  session: ClientHttp2Session,
  path: string,
  options: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const method = options.method ?? 'POST';
    const stream = session.request({
      [constants.HTTP2_HEADER_METHOD]: method,
      [constants.HTTP2_HEADER_PATH]: path,
      'content-type': 'application/json',
      ...(options.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}),
      ...options.headers,
    });
    let status = 0;
    let headers: H2Reply['headers'] = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => {
      status = Number(h[constants.HTTP2_HEADER_STATUS]);
      headers = h;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve({ status, headers, body: Buffer.concat(chunks).toString('utf8') }));
    stream.on('error', reject);
    stream.end(options.body);
  });
}
