import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './cli-error.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs, with its errors shortened to one line that names the
 * command whose --help explains the options.
 */
export function parseOptions<T extends Options>(args: string[], options: T, command: string, positionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals: positionals, strict: true });
  } catch (err) {
    const message = (err as Error).message.split('. ')[0] ?? String(err);
    throw new UsageError(message.replace(/\.$/, ''), command);
  }
}
