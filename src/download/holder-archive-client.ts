// The API's side of the stream: it fetches the holder's archive over HTTPS
// on the pod IP the record names, trusting exactly the certificate whose
// sha256 fingerprint the controller wrote into the record (pinned: the
// handshake is checked before a byte of the request, and so of the token,
// is sent), and proves itself with the token only it holds.
// node:http over the TLS socket pinnedSocket checked (no agent: with createConnection and no agent, node:http uses that socket): node:https would verify the chain again, which no CA can pass.
import { request, type IncomingMessage } from 'node:http';
import { connect, type TLSSocket } from 'node:tls';
import { ARCHIVE_PATH, FILES_HEADER } from './archive-server.js';

export interface HolderAddress {
  host: string;
  port: number;
  /** sha256 fingerprint of the holder's certificate, as X509Certificate.fingerprint256 writes it (AB:CD:…). */
  fingerprint: string;
}

export interface HolderArchive {
  /** Exact byte size (the holder's Content-Length). */
  size: number;
  files: number;
  body: IncomingMessage;
}

export class HolderArchiveError extends Error {}

const normalized = (fingerprint: string): string => fingerprint.replace(/:/g, '').toLowerCase();

/** A TLS connection to the holder whose certificate is the pinned one; refused (and closed) otherwise. */
function pinnedSocket(address: HolderAddress, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    // No CA can vouch for a per-download certificate: the chain is not checked, the fingerprint is, before anything is written.
    const socket = connect({ host: address.host, port: address.port, rejectUnauthorized: false, servername: undefined, timeout: timeoutMs });
    socket.once('timeout', () => socket.destroy(new HolderArchiveError(`the download holder at ${address.host}:${address.port} did not answer within ${timeoutMs} ms`)));
    socket.once('error', (err: Error) => reject(err instanceof HolderArchiveError ? err : new HolderArchiveError(`cannot reach the download holder at ${address.host}:${address.port}: ${err.message}`)));
    socket.once('secureConnect', () => {
      const presented = socket.getPeerCertificate().fingerprint256 ?? '';
      if (normalized(presented) !== normalized(address.fingerprint)) {
        socket.destroy();
        reject(new HolderArchiveError(`the download holder at ${address.host}:${address.port} presented certificate ${presented}, not the one the controller made (${address.fingerprint}): refused`));
        return;
      }
      socket.setTimeout(0);
      resolve(socket);
    });
  });
}

/** The archive's answer, headers read, body not yet: the caller streams it on. */
export async function fetchHolderArchive(address: HolderAddress, token: string, timeoutMs: number): Promise<HolderArchive> {
  const socket = await pinnedSocket(address, timeoutMs);
  return new Promise((resolve, reject) => {
    const req = request({ host: address.host, port: address.port, path: ARCHIVE_PATH, method: 'GET', headers: { authorization: `Bearer ${token}` }, createConnection: () => socket }, (res) => {
      const size = Number(res.headers['content-length']);
      if (res.statusCode !== 200 || !Number.isSafeInteger(size)) {
        res.resume();
        reject(new HolderArchiveError(`the download holder answered ${res.statusCode ?? '?'} ${res.statusMessage ?? ''}`.trim()));
        return;
      }
      resolve({ size, files: Number(res.headers[FILES_HEADER] ?? 0), body: res });
    });
    req.once('error', (err) => reject(new HolderArchiveError(`fetching the archive from the download holder failed: ${err.message}`)));
    req.end();
  });
}
