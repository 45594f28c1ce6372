import { Readable } from 'node:stream';
import { runCli } from '../../../src/cli/run-cli.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI with its streams captured, for tests that need no build. */
export async function cli(args: string[], stdin = '', env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from([stdin]),
    env,
  });
  return { code, stdout, stderr };
}
