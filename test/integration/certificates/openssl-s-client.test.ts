import { jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueCa, issueServingCertificate, serviceHosts } from '../../../src/certificates/issue-certificates.js';
import { startHttpsServer, type StartedServer } from '../../../src/server/https-server.js';
import { helloApp, openssl } from './tls-test-server.js';

jest.setTimeout(60_000);

const SERVICE = 'wutong-backup';
const NAMESPACE = 'wutong-system';
const DAY = 86_400_000;

let dir: string;
let server: StartedServer;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 's-client-'));
  const ca = issueCa('s-client-test-ca', { validityMs: DAY });
  const serving = issueServingCertificate(ca, [...serviceHosts(SERVICE, NAMESPACE), '127.0.0.1'], { validityMs: DAY });
  writeFileSync(join(dir, 'ca.crt'), ca.cert);
  writeFileSync(join(dir, 'other-ca.crt'), issueCa('someone-else', { validityMs: DAY }).cert);
  server = await startHttpsServer(helloApp(), { ...serving, ca: ca.cert }, 0, '127.0.0.1');
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const sClient = (caFile: string, extra: string[] = []): Promise<{ code: number; output: string }> =>
  openssl([
    's_client',
    '-connect',
    `127.0.0.1:${server.port}`,
    '-verify_return_error',
    '-CAfile',
    join(dir, caFile),
    '-servername',
    `${SERVICE}.${NAMESPACE}.svc`,
    '-verify_hostname',
    `${SERVICE}.${NAMESPACE}.svc`,
    ...extra,
  ]);

test('openssl s_client verifies the chain and the Service host name against ca.crt', async () => {
  const { code, output } = await sClient('ca.crt');
  expect(output).toMatch(/Verify return code: 0 \(ok\)/);
  expect(output).toMatch(/Verified peername: wutong-backup\.wutong-system\.svc/);
  expect(code).toBe(0);
});

test('openssl s_client refuses the server when trusting another CA', async () => {
  const { code, output } = await sClient('other-ca.crt');
  expect(code).not.toBe(0);
  expect(output).toMatch(/unable to get local issuer certificate/);
});

test('TLS 1.1 is refused by the server: TLS 1.2 is the minimum', async () => {
  // SECLEVEL=0 lets this OpenSSL client offer TLS 1.1, so the refusal is the server's.
  const { code, output } = await sClient('ca.crt', ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
  expect(output).toMatch(/alert protocol version/);
  expect(code).not.toBe(0);
});
