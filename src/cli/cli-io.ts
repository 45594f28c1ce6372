import type { Readable } from 'node:stream';

/** Where a command reads and writes: the process streams, or strings in tests. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  stdin: Readable;
  env: NodeJS.ProcessEnv;
}
