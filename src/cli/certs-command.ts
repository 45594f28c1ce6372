import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { durationFromEnv, formatDuration, parseDuration } from '../duration.js';
import {
  caCommonName,
  DEFAULT_CA_VALIDITY_MS,
  DEFAULT_CERT_VALIDITY_MS,
  issueCa,
  issueServingCertificate,
  LOCAL_HOSTS,
  serviceHosts,
} from '../certificates/issue-certificates.js';
import { TLS_FILES, writeTlsDir } from '../certificates/tls-files.js';

export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
}

const USAGE = `Usage: wutong-backup certs generate [options]

Generates a CA and a serving certificate for the webhook's Service and writes
ca.crt, ca.key, tls.crt and tls.key to the output directory. Prints the CA as
a base64 caBundle for the MutatingWebhookConfiguration on stdout.

Options:
  --service <name>       Service the API server calls (default wutong-backup)
  --namespace <name>     Namespace of that Service (default wutong-backup)
  --out <dir>            Output directory (default certs)
  --host <name|ip>       Extra subject alternative name; repeat for more
  --development          Also cover localhost and 127.0.0.1
  --ca-validity <dur>    CA lifetime, e.g. 43800h or 1825d (default: CA_VALIDITY or ${formatDuration(DEFAULT_CA_VALIDITY_MS)})
  --cert-validity <dur>  Serving certificate lifetime (default: CERT_VALIDITY or ${formatDuration(DEFAULT_CERT_VALIDITY_MS)})
  --force                Overwrite existing files in the output directory
  -h, --help             Show this help
`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const VALUE_FLAGS = new Set(['--service', '--namespace', '--out', '--host', '--ca-validity', '--cert-validity']);
const SWITCHES = new Set(['--development', '--force']);

class UsageError extends Error {}

interface GenerateOptions {
  service: string;
  namespace: string;
  out: string;
  hosts: string[];
  caValidityMs: number;
  certValidityMs: number;
  force: boolean;
}

/**
 * `wutong-backup certs ...`; argv is what follows "certs" (e.g. ["generate",
 * "--service", "wutong-backup"]). Resolves to the exit code: 0 done, 1 the
 * certificates could not be written, 2 bad usage. Errors are one line on stderr.
 */
export function runCertsCommand(argv: string[], io: CommandIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  try {
    const [subcommand, ...rest] = argv;
    if (subcommand === '-h' || subcommand === '--help' || (subcommand === 'generate' && (rest.includes('-h') || rest.includes('--help')))) {
      io.stdout.write(USAGE);
      return Promise.resolve(0);
    }
    if (subcommand === undefined) throw new UsageError('missing subcommand (expected "generate")');
    if (subcommand !== 'generate') throw new UsageError(`unknown subcommand "${subcommand}" (expected "generate")`);
    return Promise.resolve(generate(parseGenerateOptions(rest, io.env), io));
  } catch (err) {
    const usage = err instanceof UsageError;
    io.stderr.write(`wutong-backup certs: ${(err as Error).message}${usage ? ' (see --help)' : ''}\n`);
    return Promise.resolve(usage ? 2 : 1);
  }
}

function parseGenerateOptions(args: string[], env: NodeJS.ProcessEnv): GenerateOptions {
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (SWITCHES.has(flag)) {
      if (flag !== arg) throw new UsageError(`${flag} takes no value`);
      switches.add(flag);
      continue;
    }
    if (!VALUE_FLAGS.has(flag)) throw new UsageError(`unknown option "${arg}"`);
    const value = flag !== arg ? arg.slice(eq + 1) : args[++i];
    if (value === undefined || value === '' || (flag === arg && value.startsWith('--'))) throw new UsageError(`${flag} needs a value`);
    values.set(flag, [...(values.get(flag) ?? []), value]);
  }
  const single = (flag: string): string | undefined => {
    const given = values.get(flag);
    if (given && given.length > 1) throw new UsageError(`${flag} given more than once`);
    return given?.[0];
  };
  const label = (flag: string): string => {
    const value = single(flag) ?? 'wutong-backup';
    if (!DNS_LABEL.test(value)) throw new UsageError(`${flag} must be a DNS label (lowercase letters, digits, "-"), got "${value}"`);
    return value;
  };
  const duration = (flag: string, envName: string, fallback: number): number => {
    const value = single(flag);
    try {
      return value === undefined ? durationFromEnv(env, envName, fallback) : parseDuration(value, flag);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  };
  const service = label('--service');
  const namespace = label('--namespace');
  const extra = [...(switches.has('--development') ? LOCAL_HOSTS : []), ...(values.get('--host') ?? [])];
  return {
    service,
    namespace,
    out: single('--out') ?? 'certs',
    hosts: [...new Set([...serviceHosts(service, namespace), ...extra])],
    caValidityMs: duration('--ca-validity', 'CA_VALIDITY', DEFAULT_CA_VALIDITY_MS),
    certValidityMs: duration('--cert-validity', 'CERT_VALIDITY', DEFAULT_CERT_VALIDITY_MS),
    force: switches.has('--force'),
  };
}

function generate(options: GenerateOptions, io: CommandIo): number {
  const existing = Object.values(TLS_FILES).filter((file) => existsSync(join(options.out, file)));
  if (existing.length > 0 && !options.force) {
    throw new Error(`${options.out} already holds ${existing.join(', ')}; pass --force to replace them`);
  }
  const ca = issueCa(caCommonName('wutong-backup-ca'), { validityMs: options.caValidityMs });
  const serving = issueServingCertificate(ca, options.hosts, { validityMs: options.certValidityMs });
  writeTlsDir(options.out, ca, serving);
  io.stderr.write(
    `wrote ${Object.values(TLS_FILES).join(', ')} to ${options.out} ` +
      `(SANs: ${options.hosts.join(', ')}; CA ${formatDuration(options.caValidityMs)}, certificate ${formatDuration(options.certValidityMs)}); caBundle:\n`,
  );
  io.stdout.write(`${Buffer.from(ca.cert, 'utf8').toString('base64')}\n`);
  return 0;
}
