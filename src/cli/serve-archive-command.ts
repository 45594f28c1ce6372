// `wutong-backup serve-archive`: what a download holder pod runs. It walks
// the restored volumes mounted read-only under /data (the archive's exact
// size is known before anyone connects), then serves that one archive over
// HTTPS on the pod's IP to the caller holding the download's token, and
// exits: 0 once the archive was sent, 1 if the send broke off or nobody
// came in time. The controller made its certificate, key and token digest
// and mounts them from a Secret in the scratch namespace.
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { ARCHIVE_SECRET_DIR, SERVE_ARCHIVE_PORT, startArchiveServer } from '../download/archive-server.js';
import { planVolumeArchive, type ArchivedVolume } from '../download/volume-archive.js';
import { durationMs, GO_DURATION } from '../duration.js';
import { CliError, UsageError } from './cli-error.js';
import type { CliIo } from './cli-io.js';
import { parseOptions } from './parse-options.js';

export const SERVE_ARCHIVE_USAGE = `Usage: wutong-backup serve-archive --volume CLAIM=PATH... [options]

Serves the files under each PATH as one tar (volumes/CLAIM/...) over HTTPS,
once, to the caller whose bearer token has the given sha256, then exits.
Download holder pods run it.

Options:
  --volume CLAIM=PATH   A volume to archive (repeat for each)
  --port N              Port to listen on (default ${SERVE_ARCHIVE_PORT})
  --cert-file FILE      Certificate (default ${ARCHIVE_SECRET_DIR}/tls.crt)
  --key-file FILE       Private key (default ${ARCHIVE_SECRET_DIR}/tls.key)
  --token-digest-file FILE  sha256 (hex) of the caller's token (default ${ARCHIVE_SECRET_DIR}/token-sha256)
  --wait DURATION       How long to wait for the caller (default 10m)

Environment:
  POD_IP                The address to listen on (the downward API's status.podIP)
`;

function volumesOf(specs: readonly string[]): ArchivedVolume[] {
  if (specs.length === 0) throw new UsageError('at least one --volume CLAIM=PATH is required', 'serve-archive');
  return specs.map((spec) => {
    const at = spec.indexOf('=');
    const claim = spec.slice(0, at);
    if (at <= 0 || at === spec.length - 1 || claim.includes('/')) throw new UsageError(`--volume "${spec}" is not CLAIM=PATH`, 'serve-archive');
    return { claim, root: spec.slice(at + 1) };
  });
}

export async function runServeArchiveCommand(args: string[], io: CliIo, signals: NodeJS.EventEmitter = process): Promise<number> {
  const { values } = parseOptions(
    args,
    {
      volume: { type: 'string', multiple: true },
      port: { type: 'string' },
      'cert-file': { type: 'string' },
      'key-file': { type: 'string' },
      'token-digest-file': { type: 'string' },
      wait: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    'serve-archive',
  );
  if (values.help) {
    io.stdout.write(SERVE_ARCHIVE_USAGE);
    return 0;
  }
  const volumes = volumesOf(values.volume ?? []);
  const port = Number(values.port ?? SERVE_ARCHIVE_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port "${values.port ?? ''}" is no port number`, 'serve-archive');
  const waitMs = durationMs(values.wait ?? '10m', GO_DURATION);
  if (waitMs === undefined || waitMs <= 0) throw new UsageError(`--wait "${values.wait ?? ''}" is no duration (e.g. 10m)`, 'serve-archive');
  const host = io.env.POD_IP ?? '';
  // Bound to the pod's own IP, never 0.0.0.0: the downward API gives it; a holder without it is misconfigured.
  if (isIP(host) === 0) throw new CliError(`POD_IP is "${host}", not an IP address: set it from the downward API (status.podIP)`);
  const read = (file: string, what: string): Promise<string> => readFile(file, 'utf8').catch((err: Error) => Promise.reject(new CliError(`cannot read the ${what} ${file}: ${err.message}`)));
  const cert = await read(values['cert-file'] ?? `${ARCHIVE_SECRET_DIR}/tls.crt`, 'certificate');
  const key = await read(values['key-file'] ?? `${ARCHIVE_SECRET_DIR}/tls.key`, 'private key');
  const tokenDigest = (await read(values['token-digest-file'] ?? `${ARCHIVE_SECRET_DIR}/token-sha256`, 'token digest')).trim();
  if (!/^[0-9a-f]{64}$/.test(tokenDigest)) throw new CliError('the token digest is not a sha256 in hex');

  const plan = await planVolumeArchive(volumes);
  for (const name of plan.skipped) io.stderr.write(`wutong-backup serve-archive: ${name} is no regular file, directory or link: left out\n`);
  const running = await startArchiveServer({ host, port, cert, key, tokenDigest, plan, waitMs });
  io.stderr.write(`wutong-backup serve-archive: ${plan.files} files, ${plan.size} bytes, on https://${host}:${running.address.port}\n`);
  const stop = (): void => {
    running.server.close();
    running.server.closeAllConnections();
  };
  signals.once('SIGTERM', stop);
  const outcome = await running.done;
  signals.off('SIGTERM', stop);
  if (outcome.kind === 'served') {
    io.stderr.write(`wutong-backup serve-archive: sent ${outcome.bytes} bytes, exiting\n`);
    return 0;
  }
  io.stderr.write(outcome.kind === 'aborted' ? `wutong-backup serve-archive: the send broke off after ${outcome.bytes} bytes (${outcome.why})\n` : 'wutong-backup serve-archive: nobody came for the archive in time\n');
  return 1;
}
