// The API's half of a download against a real holder server; the record
// store is a map and the controller's part is played by the test (the
// controller loop is not built yet).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startArchiveServer } from '../../../src/download/archive-server.js';
import { downloadProgressPatch, readDownloadRequest } from '../../../src/download/download-request.js';
import { issueDownloadCertificate } from '../../../src/download/download-holder-pod.js';
import { downloadHeaders, prepareDownload, type DownloadPorts } from '../../../src/download/prepare-download.js';
import { planVolumeArchive } from '../../../src/download/volume-archive.js';
import { ApiError } from '../../../src/api/api-error.js';
import { HOUR_MS } from '../../../src/certificates/issue-certificates.js';

const component = { namespace: 'acme-prod', serviceId: 'abc123', serviceAlias: 'gr3f2a-mysql' };
const SETTINGS = { timeLimitMs: 60_000, readyTimeoutMs: 3_000, pollMs: 50, maxManifestBytes: 1024 };

function recordPorts(onRead: (raw: Record<string, unknown>) => Promise<void> | void = () => undefined): DownloadPorts & { records: Map<string, Record<string, unknown>> } {
  const records = new Map<string, Record<string, unknown>>();
  return {
    records,
    createRecord(object) {
      const name = (object.metadata as { name: string }).name;
      if (records.has(name)) return Promise.resolve('exists');
      records.set(name, { ...object, metadata: { ...(object.metadata as object), uid: 'u1', resourceVersion: '1' } });
      return Promise.resolve('created');
    },
    async readRecord(name) {
      const raw = records.get(name);
      if (raw) await onRead(raw);
      return records.get(name);
    },
    removeRecord(name) {
      records.delete(name);
      return Promise.resolve();
    },
    manifests: () => Promise.resolve(Buffer.from('manifests')),
  };
}

describe('the backup API’s side of a download', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'prepare-download-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('streams the holder’s archive once the controller made the record Ready, with its exact size, file name and missing volumes, and removes the record after', async () => {
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'dump.sql'), 'INSERT 1;\n');
    const certificate = issueDownloadCertificate(HOUR_MS);
    const plan = await planVolumeArchive([{ claim: 'data', root: join(dir, 'data') }]);
    let holder: Awaited<ReturnType<typeof startArchiveServer>> | undefined;
    const ports = recordPorts(async (raw) => {
      const record = readDownloadRequest(raw);
      if (!record?.request || holder) return;
      // The controller's part: the holder starts with the record's token digest and the record goes Ready.
      holder = await startArchiveServer({ host: '127.0.0.1', port: 0, cert: certificate.cert, key: certificate.key, tokenDigest: record.request.tokenDigest, plan, waitMs: 5_000 });
      const progress = { stage: 'Ready' as const, message: 'serving', since: new Date().toISOString(), volumes: ['data'], missing: [{ claim: 'cache', why: 'skipped' }], holder: { ip: '127.0.0.1', port: holder.address.port, fingerprint: certificate.fingerprint } };
      Object.assign(raw, { data: { ...(raw.data as object), ...(downloadProgressPatch('1', progress).data as object) } });
    });
    const download = await prepareDownload(ports, SETTINGS, { component, backupName: 'b1', operator: 'alice' });
    expect(downloadHeaders(download)).toEqual({
      'content-type': 'application/x-tar',
      'content-length': String(download.size),
      'content-disposition': 'attachment; filename="gr3f2a-mysql-b1.tar"',
      'x-wutong-missing-volumes': 'cache',
    });
    // One per component: a second download meanwhile is a 409.
    await expect(prepareDownload(ports, SETTINGS, { component, backupName: 'b1', operator: 'bob' })).rejects.toMatchObject({ status: 409, code: 'download_in_progress' });
    const chunks: Buffer[] = [];
    for await (const chunk of download.stream) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    expect(bytes.length).toBe(download.size);
    writeFileSync(join(dir, 'out.tar'), bytes);
    expect(execFileSync('tar', ['-tf', join(dir, 'out.tar')], { encoding: 'utf8' }).split('\n').filter(Boolean)).toEqual(['manifests.tar.gz', 'MISSING-VOLUMES.txt', 'volumes/data/', 'volumes/data/dump.sql']);
    await download.finish();
    expect(ports.records.size).toBe(0);
  });

  it('answers 502 with the controller’s reason when the download failed, and removes the record', async () => {
    const ports = recordPorts((raw) => {
      Object.assign(raw, { data: { ...(raw.data as object), ...(downloadProgressPatch('1', { stage: 'Failed', message: 'restored pod mysql-0 does not start with the hold', since: new Date().toISOString() }).data as object) } });
    });
    const failure = prepareDownload(ports, SETTINGS, { component, backupName: 'b1', operator: 'alice' });
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({ status: 502, message: 'the download failed: restored pod mysql-0 does not start with the hold' });
    expect(ports.records.size).toBe(0);
  });

  it('answers 503 when the controller never takes the request up, and removes the record', async () => {
    const ports = recordPorts();
    await expect(prepareDownload(ports, { ...SETTINGS, readyTimeoutMs: 200 }, { component, backupName: 'b1', operator: 'alice' })).rejects.toMatchObject({ status: 503, code: 'download_timeout' });
    expect(ports.records.size).toBe(0);
  });
});
