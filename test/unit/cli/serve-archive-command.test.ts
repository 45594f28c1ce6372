import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveTokenDigest, newArchiveToken } from '../../../src/download/archive-token.js';
import { fetchHolderArchive } from '../../../src/download/holder-archive-client.js';
import { DAY_MS, caCommonName, issueCa, issueServingCertificate } from '../../../src/certificates/issue-certificates.js';
import { cli } from './run-cli-in-process.js';

describe('wutong-backup serve-archive, as a download holder pod runs it', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'serve-archive-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the mounted volumes once to the token’s holder on POD_IP, then exits 0', async () => {
    const ca = issueCa(caCommonName('wutong-backup-download'), { validityMs: DAY_MS });
    const serving = issueServingCertificate(ca, ['wutong-backup-download'], { validityMs: DAY_MS });
    const token = newArchiveToken();
    writeFileSync(join(dir, 'tls.crt'), serving.cert);
    writeFileSync(join(dir, 'tls.key'), serving.key);
    writeFileSync(join(dir, 'token-sha256'), `${archiveTokenDigest(token)}\n`);
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'f'), 'x');
    // A fixed free port is unknowable here; the command announces the one it got on stderr, which the in-process run only returns at exit. Pick one from the ephemeral range the kernel is unlikely to hand out.
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const run = cli(['serve-archive', '--volume', `data=${join(dir, 'data')}`, '--port', String(port), '--cert-file', join(dir, 'tls.crt'), '--key-file', join(dir, 'tls.key'), '--token-digest-file', join(dir, 'token-sha256')], '', { POD_IP: '127.0.0.1' });
    let archive;
    for (let tries = 0; ; tries += 1) {
      try {
        archive = await fetchHolderArchive({ host: '127.0.0.1', port, fingerprint: new X509Certificate(serving.cert).fingerprint256 }, token, 2_000);
        break;
      } catch (err) {
        if (tries > 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    let bytes = 0;
    for await (const chunk of archive.body) bytes += (chunk as Buffer).length;
    expect(bytes).toBe(archive.size);
    const done = await run;
    expect(done.code).toBe(0);
    expect(done.stderr).toContain(`1 files, ${archive.size} bytes, on https://127.0.0.1:${port}`);
    expect(done.stderr).toContain(`sent ${archive.size} bytes, exiting`);
  });

  it('refuses to start without POD_IP, a volume, or a token digest', async () => {
    expect((await cli(['serve-archive'], '', { POD_IP: '127.0.0.1' })).stderr).toContain('at least one --volume CLAIM=PATH is required');
    expect((await cli(['serve-archive', '--volume', 'a=/x'], '', {})).stderr).toContain('POD_IP is "", not an IP address');
    writeFileSync(join(dir, 'digest'), 'nope');
    writeFileSync(join(dir, 'c'), '');
    const bad = await cli(['serve-archive', '--volume', 'a=/x', '--cert-file', join(dir, 'c'), '--key-file', join(dir, 'c'), '--token-digest-file', join(dir, 'digest')], '', { POD_IP: '127.0.0.1' });
    expect(bad).toMatchObject({ code: 1, stderr: 'wutong-backup: the token digest is not a sha256 in hex\n' });
    expect((await cli(['--help'])).stdout).toContain('serve-archive ');
  });
});
