import { jest } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, type CliRun } from './run-cli-in-process.js';

jest.setTimeout(60_000);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'certs-cli-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** `wutong-backup certs ...` through the CLI's one entry point, as the bin runs it. */
function run(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return cli(['certs', ...argv], '', env);
}

test('generate writes the four files and prints the caBundle', async () => {
  const out = join(dir, 'certs');
  const { code, stdout } = await run(['generate', '--service', 'hook', '--namespace', 'backup', '--out', out]);
  expect(code).toBe(0);
  const ca = readFileSync(join(out, 'ca.crt'), 'utf8');
  expect(stdout).toBe(`${Buffer.from(ca).toString('base64')}\n`);
  const cert = new X509Certificate(readFileSync(join(out, 'tls.crt')));
  expect(cert.subjectAltName).toBe('DNS:hook, DNS:hook.backup, DNS:hook.backup.svc, DNS:hook.backup.svc.cluster.local');
  expect(statSync(join(out, 'tls.key')).mode & 0o077).toBe(0);
  expect(statSync(join(out, 'ca.key')).mode & 0o077).toBe(0);
  expect(execFileSync('openssl', ['verify', '-CAfile', join(out, 'ca.crt'), join(out, 'tls.crt')], { encoding: 'utf8' })).toMatch(/: OK\n$/);
});

test('--development adds localhost and 127.0.0.1; --host adds more; validity flags win over env', async () => {
  const { code } = await run(
    ['generate', '--out', dir, '--development', '--host', 'hook.example.com', '--cert-validity=30d', '--ca-validity', '400d'],
    { CERT_VALIDITY: '1h' },
  );
  expect(code).toBe(0);
  const cert = new X509Certificate(readFileSync(join(dir, 'tls.crt')));
  expect(cert.subjectAltName).toContain('DNS:wutong-backup.wutong-backup.svc, DNS:wutong-backup.wutong-backup.svc.cluster.local, DNS:localhost, IP Address:127.0.0.1, DNS:hook.example.com');
  const days = (new Date(cert.validTo).getTime() - Date.now()) / 86_400_000;
  expect(days).toBeGreaterThan(29.9);
  expect(days).toBeLessThan(30.1);
  const caDays = (new Date(new X509Certificate(readFileSync(join(dir, 'ca.crt'))).validTo).getTime() - Date.now()) / 86_400_000;
  expect(Math.round(caDays)).toBe(400);
});

test('CERT_VALIDITY applies when no flag is given', async () => {
  expect((await run(['generate', '--out', dir], { CERT_VALIDITY: '48h' })).code).toBe(0);
  const hours = (new Date(new X509Certificate(readFileSync(join(dir, 'tls.crt'))).validTo).getTime() - Date.now()) / 3_600_000;
  expect(Math.round(hours)).toBe(48);
});

test('refuses to overwrite keys unless --force', async () => {
  expect((await run(['generate', '--out', dir])).code).toBe(0);
  const first = readFileSync(join(dir, 'ca.key'), 'utf8');
  const again = await run(['generate', '--out', dir]);
  expect(again.code).toBe(1);
  expect(again.stderr).toBe(`wutong-backup: ${dir} already holds tls.crt, tls.key, ca.crt, ca.key; pass --force to replace them\n`);
  expect(readFileSync(join(dir, 'ca.key'), 'utf8')).toBe(first);
  expect((await run(['generate', '--out', dir, '--force'])).code).toBe(0);
  expect(readFileSync(join(dir, 'ca.key'), 'utf8')).not.toBe(first);
});

test('--help prints usage and succeeds', async () => {
  for (const argv of [['--help'], ['generate', '-h']]) {
    const { code, stdout } = await run(argv);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: wutong-backup certs generate \[options\]/);
  }
});

const SEE_CERTS = '(see: wutong-backup certs --help)';
const SEE_GENERATE = '(see: wutong-backup certs generate --help)';

test.each([
  [[], `certs needs a subcommand: generate ${SEE_CERTS}`],
  [['renew'], `unknown certs command "renew"; use generate ${SEE_CERTS}`],
  [['generate', '--servce', 'x'], `Unknown option '--servce' ${SEE_GENERATE}`],
  [['generate', '--service'], `Option '--service <value>' argument missing ${SEE_GENERATE}`],
  [['generate', '--service', 'Hook_1'], `--service must be a DNS label (lowercase letters, digits, "-"), got "Hook_1" ${SEE_GENERATE}`],
  [['generate', '--cert-validity', '1 year'], `--cert-validity must be a duration such as 8760h, 365d, 90m or 30s, got "1 year" ${SEE_GENERATE}`],
  [['generate', '--force=yes'], `Option '--force' does not take an argument ${SEE_GENERATE}`],
])('usage error %j: one line, exit 2, like every other command', async (argv, message) => {
  expect(await run(argv)).toEqual({ code: 2, stdout: '', stderr: `wutong-backup: ${message}\n` });
});

test('a bad CERT_VALIDITY in the environment is a usage error naming the setting', async () => {
  const { code, stderr } = await run(['generate', '--out', dir], { CERT_VALIDITY: 'soon' });
  expect(code).toBe(2);
  expect(stderr).toBe(`wutong-backup: CERT_VALIDITY must be a duration such as 8760h, 365d, 90m or 30s, got "soon" ${SEE_GENERATE}\n`);
});
