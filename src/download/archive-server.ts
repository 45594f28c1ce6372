// The download holder pod's server (`wutong-backup serve-archive`): HTTPS on
// the pod's own IP, one archive to one caller who proves it holds the token
// the API made for this download, then it closes. The certificate and key
// are made per download by the controller; the API pins the certificate's
// sha256 fingerprint it read from the request record, so neither a DNS name
// nor a CA is involved and no other pod can stand in for the holder.
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { archiveTokenMatches } from './archive-token.js';
import { packVolumeArchive, type VolumeArchivePlan } from './volume-archive.js';

/** Where the holder pod mounts the controller's Secret (tls.crt, tls.key, token-sha256). */
export const ARCHIVE_SECRET_DIR = '/etc/wutong-backup/download';
export const SERVE_ARCHIVE_PORT = 8443;
/** The one path the holder answers. */
export const ARCHIVE_PATH = '/archive';
/** Set on the archive's answer: how many regular files it holds (the exact byte size is Content-Length). */
export const FILES_HEADER = 'x-wutong-archive-files';

export type ArchiveOutcome = { kind: 'served'; bytes: number } | { kind: 'aborted'; bytes: number; why: string } | { kind: 'nobody-came' };

export interface ArchiveServerOptions {
  host: string;
  port: number;
  cert: string;
  key: string;
  /** sha256 (hex) of the API's token for this download. */
  tokenDigest: string;
  plan: VolumeArchivePlan;
  /** How long to wait for the caller before giving up (the holder then exits; the controller cleans up). */
  waitMs: number;
}

export interface RunningArchiveServer {
  server: Server;
  address: AddressInfo;
  /** Settles once the archive was sent, the send broke off, or nobody came in time; the server is closed by then. */
  done: Promise<ArchiveOutcome>;
}

export async function startArchiveServer(options: ArchiveServerOptions): Promise<RunningArchiveServer> {
  let settle: (outcome: ArchiveOutcome) => void = () => undefined;
  const done = new Promise<ArchiveOutcome>((resolve) => (settle = resolve));
  let taken = false;
  const server = createServer({ cert: options.cert, key: options.key, minVersion: 'TLSv1.2' }, (req, res) => {
    if (req.method !== 'GET' || req.url !== ARCHIVE_PATH) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const auth = req.headers.authorization ?? '';
    const token = auth.startsWith('Bearer ') ? auth.slice('Bearer '.length) : '';
    if (!archiveTokenMatches(token, options.tokenDigest)) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('this download’s token is required\n');
      return;
    }
    if (taken) {
      // One archive per download: a second caller with the token is a retry the API does not make.
      res.writeHead(410, { 'content-type': 'text/plain' }).end('the archive was already sent\n');
      return;
    }
    taken = true;
    clearTimeout(waiting);
    res.writeHead(200, { 'content-type': 'application/x-tar', 'content-length': String(options.plan.size), [FILES_HEADER]: String(options.plan.files) });
    const archive = packVolumeArchive(options.plan);
    let bytes = 0;
    archive.on('data', (chunk: Buffer) => (bytes += chunk.length));
    const finish = (outcome: ArchiveOutcome): void => {
      server.close();
      server.closeAllConnections();
      settle(outcome);
    };
    archive.on('error', (err: Error) => {
      res.destroy(err);
      finish({ kind: 'aborted', bytes, why: err.message });
    });
    res.on('close', () => {
      if (res.writableFinished) finish({ kind: 'served', bytes });
      else {
        archive.destroy();
        finish({ kind: 'aborted', bytes, why: 'the caller went away' });
      }
    });
    archive.pipe(res);
  });
  const waiting = setTimeout(() => {
    server.close();
    settle({ kind: 'nobody-came' });
  }, options.waitMs);
  server.once('close', () => {
    clearTimeout(waiting);
    settle({ kind: 'nobody-came' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return { server, address: server.address() as AddressInfo, done };
}
