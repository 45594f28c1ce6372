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
import { CliError, UsageError } from './cli-error.js';
import type { CliIo } from './cli-io.js';
import { parseOptions } from './parse-options.js';

export const CERTS_USAGE = `Usage: wutong-backup certs generate [options]

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
const COMMAND = 'certs generate';

const OPTIONS = {
  service: { type: 'string' },
  namespace: { type: 'string' },
  out: { type: 'string' },
  host: { type: 'string', multiple: true },
  development: { type: 'boolean' },
  'ca-validity': { type: 'string' },
  'cert-validity': { type: 'string' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

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
 * `wutong-backup certs ...`; args is what follows "certs" (e.g. ["generate",
 * "--service", "wutong-backup"]). Exit 0 when done; a file that cannot be
 * written is a CliError (exit 1), bad usage a UsageError (exit 2).
 */
export function runCertsCommand(args: string[], io: CliIo): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === '-h' || subcommand === '--help') {
    io.stdout.write(CERTS_USAGE);
    return Promise.resolve(0);
  }
  if (subcommand === undefined) throw new UsageError('certs needs a subcommand: generate', 'certs');
  if (subcommand !== 'generate') throw new UsageError(`unknown certs command "${subcommand}"; use generate`, 'certs');
  const { values } = parseOptions(rest, OPTIONS, COMMAND);
  if (values.help) {
    io.stdout.write(CERTS_USAGE);
    return Promise.resolve(0);
  }
  return Promise.resolve(generate(generateOptions(values, io.env), io));
}

function dnsLabel(flag: string, value: string | undefined): string {
  const label = value ?? 'wutong-backup';
  if (!DNS_LABEL.test(label)) throw new UsageError(`--${flag} must be a DNS label (lowercase letters, digits, "-"), got "${label}"`, COMMAND);
  return label;
}

/** A validity flag, else its env setting, else the default; a bad value is a usage error naming where it came from. */
function validity(flag: string, value: string | undefined, env: NodeJS.ProcessEnv, envName: string, fallback: number): number {
  try {
    return value === undefined ? durationFromEnv(env, envName, fallback) : parseDuration(value, `--${flag}`);
  } catch (err) {
    throw new UsageError((err as Error).message, COMMAND);
  }
}

type Values = ReturnType<typeof parseOptions<typeof OPTIONS>>['values'];

function generateOptions(values: Values, env: NodeJS.ProcessEnv): GenerateOptions {
  const service = dnsLabel('service', values.service);
  const namespace = dnsLabel('namespace', values.namespace);
  const extra = [...(values.development ? LOCAL_HOSTS : []), ...(values.host ?? [])];
  return {
    service,
    namespace,
    out: values.out ?? 'certs',
    hosts: [...new Set([...serviceHosts(service, namespace), ...extra])],
    caValidityMs: validity('ca-validity', values['ca-validity'], env, 'CA_VALIDITY', DEFAULT_CA_VALIDITY_MS),
    certValidityMs: validity('cert-validity', values['cert-validity'], env, 'CERT_VALIDITY', DEFAULT_CERT_VALIDITY_MS),
    force: values.force ?? false,
  };
}

function generate(options: GenerateOptions, io: CliIo): number {
  const existing = Object.values(TLS_FILES).filter((file) => existsSync(join(options.out, file)));
  if (existing.length > 0 && !options.force) {
    throw new CliError(`${options.out} already holds ${existing.join(', ')}; pass --force to replace them`);
  }
  const ca = issueCa(caCommonName('wutong-backup-ca'), { validityMs: options.caValidityMs });
  const serving = issueServingCertificate(ca, options.hosts, { validityMs: options.certValidityMs });
  try {
    writeTlsDir(options.out, ca, serving);
  } catch (err) {
    throw new CliError(`cannot write ${options.out}: ${(err as Error).message}`);
  }
  io.stderr.write(
    `wrote ${Object.values(TLS_FILES).join(', ')} to ${options.out} ` +
      `(SANs: ${options.hosts.join(', ')}; CA ${formatDuration(options.caValidityMs)}, certificate ${formatDuration(options.certValidityMs)}); caBundle:\n`,
  );
  io.stdout.write(`${Buffer.from(ca.cert, 'utf8').toString('base64')}\n`);
  return 0;
}
