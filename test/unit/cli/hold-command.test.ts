import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { runHoldCommand } from '../../../src/cli/hold-command.js';
import { cli } from './run-cli-in-process.js';

function io(): { out: string[]; err: string[]; io: Parameters<typeof runHoldCommand>[1] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) }, stdin: Readable.from(['']), env: {} } };
}

test.each(['SIGTERM', 'SIGINT'])('hold keeps waiting until %s, then exits 0 and unhooks its handlers', async (signal) => {
  const signals = new EventEmitter();
  const captured = io();
  let code: number | undefined;
  const done = runHoldCommand([], captured.io, signals).then((c) => (code = c));
  await new Promise((r) => setTimeout(r, 50));
  expect(code).toBeUndefined();
  expect(signals.listenerCount('SIGTERM')).toBe(1);
  signals.emit(signal);
  await done;
  expect(code).toBe(0);
  expect(signals.listenerCount('SIGTERM') + signals.listenerCount('SIGINT')).toBe(0);
  expect(captured.err.join('')).toContain(`${signal}, exiting`);
  expect(captured.out).toEqual([]);
});

test('hold refuses arguments as a usage error (exit 2) and documents itself', async () => {
  expect(await cli(['hold', 'now'])).toEqual({ code: 2, stdout: '', stderr: 'wutong-backup: hold takes no arguments, got "now" (see: wutong-backup hold --help)\n' });
  const help = await cli(['hold', '--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('Waits for SIGTERM or SIGINT');
  expect((await cli(['--help'])).stdout).toContain('hold ');
});
