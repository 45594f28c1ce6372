// The holder's server and the API's client together, over real TLS on
// loopback: the pinned certificate, the token, one archive, the composed tar.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startArchiveServer, type RunningArchiveServer } from '../../../src/download/archive-server.js';
import { archiveTokenDigest, archiveTokenMatches, newArchiveToken } from '../../../src/download/archive-token.js';
import { composeDownloadArchive, downloadFileName } from '../../../src/download/download-archive.js';
import { fetchHolderArchive } from '../../../src/download/holder-archive-client.js';
import { planVolumeArchive } from '../../../src/download/volume-archive.js';
import { DAY_MS, caCommonName, issueCa, issueServingCertificate } from '../../../src/certificates/issue-certificates.js';

const ca = issueCa(caCommonName('wutong-backup-download'), { validityMs: DAY_MS });
const serving = issueServingCertificate(ca, ['wutong-backup-download'], { validityMs: DAY_MS });
const fingerprint = new X509Certificate(serving.cert).fingerprint256;

async function bytesOf(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('the download stream between the API and the holder pod', () => {
  let dir: string;
  let running: RunningArchiveServer | undefined;
  const token = newArchiveToken();

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'archive-stream-'));
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'dump.sql'), 'INSERT INTO t VALUES (1);\n'.repeat(5_000));
  });
  afterEach(() => {
    running?.server.close();
    running?.server.closeAllConnections();
    running = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(waitMs = 10_000): Promise<RunningArchiveServer> {
    const plan = await planVolumeArchive([{ claim: 'data', root: join(dir, 'data') }]);
    running = await startArchiveServer({ host: '127.0.0.1', port: 0, cert: serving.cert, key: serving.key, tokenDigest: archiveTokenDigest(token), plan, waitMs });
    return running;
  }

  it('the token is checked against its digest only, in constant time', () => {
    expect(archiveTokenMatches(token, archiveTokenDigest(token))).toBe(true);
    expect(archiveTokenMatches(`${token}x`, archiveTokenDigest(token))).toBe(false);
    expect(archiveTokenMatches(token, 'not-hex')).toBe(false);
  });

  it('sends one archive to the holder of the token over the pinned certificate, with its exact size first, then closes', async () => {
    const server = await start();
    const archive = await fetchHolderArchive({ host: '127.0.0.1', port: server.address.port, fingerprint }, token, 5_000);
    expect(archive.files).toBe(1);
    const manifests = Buffer.from('a gzip of manifests');
    const composed = await composeDownloadArchive({ manifests, missing: [], volumes: archive, now: new Date() });
    const bytes = await bytesOf(composed.stream);
    expect(bytes.length).toBe(composed.size);
    expect(await server.done).toEqual({ kind: 'served', bytes: archive.size });

    const file = join(dir, 'download.tar');
    writeFileSync(file, bytes);
    expect(execFileSync('tar', ['-tf', file], { encoding: 'utf8' }).split('\n').filter(Boolean)).toEqual(['manifests.tar.gz', 'volumes/data/', 'volumes/data/dump.sql']);
    const out = join(dir, 'out');
    mkdirSync(out);
    execFileSync('tar', ['-xf', file, '-C', out]);
    expect(readFileSync(join(out, 'volumes/data/dump.sql'))).toEqual(readFileSync(join(dir, 'data/dump.sql')));
    expect(readFileSync(join(out, 'manifests.tar.gz'))).toEqual(manifests);
    // Served once: the holder no longer listens.
    await expect(fetchHolderArchive({ host: '127.0.0.1', port: server.address.port, fingerprint }, token, 2_000)).rejects.toThrow(/cannot reach/);
  });

  it('names the volumes a partial backup has no data of, in the archive', async () => {
    const server = await start();
    const archive = await fetchHolderArchive({ host: '127.0.0.1', port: server.address.port, fingerprint }, token, 5_000);
    const composed = await composeDownloadArchive({ manifests: Buffer.from('m'), missing: [{ claim: 'cache', why: 'skipped by the backup: no running pod mounted it' }], volumes: archive, now: new Date() });
    const file = join(dir, 'download.tar');
    writeFileSync(file, await bytesOf(composed.stream));
    expect(execFileSync('tar', ['-xOf', file, 'MISSING-VOLUMES.txt'], { encoding: 'utf8' })).toContain('cache: skipped by the backup');
  });

  it('refuses a caller without the token (401) and does not count it as the one archive', async () => {
    const server = await start();
    await expect(fetchHolderArchive({ host: '127.0.0.1', port: server.address.port, fingerprint }, 'guessed', 5_000)).rejects.toThrow(/401/);
    const archive = await fetchHolderArchive({ host: '127.0.0.1', port: server.address.port, fingerprint }, token, 5_000);
    await bytesOf(archive.body);
    expect((await server.done).kind).toBe('served');
  });

  it('sends no request, and so no token, to a server whose certificate is not the pinned one', async () => {
    const other = issueServingCertificate(ca, ['wutong-backup-download'], { validityMs: DAY_MS });
    const plan = await planVolumeArchive([{ claim: 'data', root: join(dir, 'data') }]);
    const requests: string[] = [];
    running = await startArchiveServer({ host: '127.0.0.1', port: 0, cert: other.cert, key: other.key, tokenDigest: archiveTokenDigest(token), plan, waitMs: 10_000 });
    running.server.on('request', (req: { url?: string }) => requests.push(req.url ?? ''));
    await expect(fetchHolderArchive({ host: '127.0.0.1', port: running.address.port, fingerprint }, token, 5_000)).rejects.toThrow(/not the one the controller made/);
    await new Promise((r) => setTimeout(r, 100));
    expect(requests).toEqual([]);
  });

  it('ends, reporting it, when the caller goes away mid-stream (the API process killed)', async () => {
    writeFileSync(join(dir, 'data', 'big'), Buffer.alloc(64 * 1024 * 1024, 1));
    const server = await start();
    const archive = await fetchHolderArchive({ host: '127.0.0.1', port: server.address.port, fingerprint }, token, 5_000);
    for await (const chunk of archive.body) {
      if ((chunk as Buffer).length > 0) break;
    }
    archive.body.destroy();
    const outcome = await server.done;
    expect(outcome.kind).toBe('aborted');
  });

  it('gives up when nobody comes in time', async () => {
    const server = await start(200);
    expect(await server.done).toEqual({ kind: 'nobody-came' });
  });

  it('names the download after the component and the backup', () => {
    expect(downloadFileName('gr3f2a-mysql', 'backup-20261207-1730')).toBe('gr3f2a-mysql-backup-20261207-1730.tar');
    expect(downloadFileName('a"b', 'c/d')).toBe('a_b-c_d.tar');
  });
});
