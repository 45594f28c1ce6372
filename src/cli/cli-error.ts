/**
 * A failure the user can act on: printed as one line per problem, no stack,
 * and turned into the exit code. Usage mistakes exit 2, everything else 1.
 */
export class CliError extends Error {
  readonly lines: readonly string[];

  constructor(
    lines: string | readonly string[],
    readonly exitCode = 1,
  ) {
    const all = typeof lines === 'string' ? [lines] : lines;
    super(all.join('\n'));
    this.name = 'CliError';
    this.lines = all;
  }
}

export class UsageError extends CliError {
  constructor(message: string, command: string) {
    super(`${message} (see: wutong-backup ${command ? `${command} ` : ''}--help)`, 2);
    this.name = 'UsageError';
  }
}
