#!/usr/bin/env node
const argv = process.argv.slice(2);
const io = { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };

// A holder pod runs `hold` for as long as a backup or restore takes: it loads
// only that command (about 40 MiB resident instead of 60 with every command's
// code), so its memory limit can stay small. Everything else goes through runCli.
if (argv[0] === 'hold' && argv.length === 1) {
  const { runHoldCommand } = await import('./hold-command.js');
  process.exitCode = await runHoldCommand([], io);
} else {
  const { runCli } = await import('./run-cli.js');
  process.exitCode = await runCli(argv, io);
}
