import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';
import type { CliIo } from './cli-io.js';
import { CliError, UsageError } from './cli-error.js';
import { runExplainCommand } from './explain-command.js';
import { runMutateCommand } from './mutate-command.js';
import { runPolicyTestCommand } from './policy-test-command.js';
import { runPolicyValidateCommand } from './policy-validate-command.js';

export const USAGE = `Usage: wutong-backup COMMAND [options]

Tools for the wutong-backup admission webhook; all but status work offline.

Commands:
  mutate -f FILE            Print pods as the webhook would admit them (workloads: their pod template)
  explain -f FILE           Explain which rule, profile, volumes, hooks and warnings a pod gets
  policy validate FILE...   Check hook policy files, naming every bad field
  policy test DIR           Run a folder of policy test cases (pod.yaml + expected.yaml)
  certs generate            Generate the webhook's CA and serving certificate
  status                    Which components are backed up, from the current kubeconfig's cluster
  release-finalizers        Take the data guard's finalizer off every Wutong PVC (uninstall)
  hold                      Wait for SIGTERM (what the controller's holder pods run)
  clear-restore-markers DIR...  Remove DIR/.velero, Velero's done files, from restored volumes (the marker holder runs it)
  serve-archive             Serve restored volumes as one tar, once (what download holder pods run)

Run "wutong-backup COMMAND --help" for a command's options.
`;

const POLICY_USAGE = `Usage: wutong-backup policy validate FILE... | policy test DIR

  validate   Check hook policy files, naming every bad field
  test       Run a folder of policy test cases

Run "wutong-backup policy validate --help" or "wutong-backup policy test --help" for details.
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
      io.stderr.write(USAGE);
      return 2;
    case '-h':
    case '--help':
    case 'help':
      io.stdout.write(USAGE);
      return 0;
    case '--version':
      io.stdout.write(`${version()}\n`);
      return 0;
    case 'mutate':
      return runMutateCommand(rest, io);
    case 'explain':
      return runExplainCommand(rest, io);
    case 'policy': {
      const [sub, ...args] = rest;
      if (sub === 'validate') return runPolicyValidateCommand(args, io);
      if (sub === 'test') return runPolicyTestCommand(args, io);
      if (sub === undefined || sub === '-h' || sub === '--help') {
        (sub === undefined ? io.stderr : io.stdout).write(POLICY_USAGE);
        return sub === undefined ? 2 : 0;
      }
      throw new UsageError(`unknown policy command "${sub}"; use validate or test`, 'policy');
    }
    case 'certs': {
      // Loaded on demand: it pulls in the certificate code no other command needs.
      const { runCertsCommand } = await import('./certs-command.js');
      return runCertsCommand(rest, io);
    }
    case 'status': {
      // Loaded on demand, like certs: the cluster code no offline command needs.
      const { runStatusCommand } = await import('./status-command.js');
      return runStatusCommand(rest, io);
    }
    case 'release-finalizers': {
      const { runReleaseFinalizersCommand } = await import('./release-finalizers-command.js');
      return runReleaseFinalizersCommand(rest, io);
    }
    case 'hold': {
      // Loaded on demand: a holder pod should start as little code as it can.
      const { runHoldCommand } = await import('./hold-command.js');
      return runHoldCommand(rest, io);
    }
    case 'clear-restore-markers': {
      const { runClearRestoreMarkersCommand } = await import('./clear-restore-markers-command.js');
      return runClearRestoreMarkersCommand(rest, io);
    }
    case 'serve-archive': {
      const { runServeArchiveCommand } = await import('./serve-archive-command.js');
      return runServeArchiveCommand(rest, io);
    }
    default:
      throw new UsageError(`unknown command "${command}"`, '');
  }
}

/** The whole CLI: argv in, exit code out. Expected failures are one line each on stderr, never a stack trace. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    if (err instanceof CliError) {
      for (const line of err.lines) io.stderr.write(`wutong-backup: ${line}\n`);
      return err.exitCode;
    }
    io.stderr.write(`wutong-backup: internal error: ${(err as Error).message}\n`);
    return 1;
  }
}
