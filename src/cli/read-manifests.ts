import type { Readable } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import { CliError } from './cli-error.js';
import { readText } from './read-text.js';
import { isObject } from '../is-object.js';

/** One Kubernetes object from the input, with where it came from for messages. */
export interface Manifest {
  source: string;
  object: Record<string, unknown>;
}

async function readStream(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Every object in a YAML (or JSON) text: multi-document streams, and the
 * items of a `kind: List` as `kubectl get -o yaml` prints them. Empty
 * documents are skipped; anything that is not a mapping is an error.
 */
export function parseManifests(text: string, source: string): Manifest[] {
  const out: Manifest[] = [];
  parseAllDocuments(text, { prettyErrors: true }).forEach((doc, index) => {
    const error = doc.errors[0];
    if (error) throw new CliError(`${source}: invalid YAML: ${(error.message.split('\n')[0] ?? error.message).replace(/:$/, '')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const where = `${source} (document ${index + 1})`;
    if (!isObject(value)) throw new CliError(`${where}: expected a Kubernetes object, got ${Array.isArray(value) ? 'a list' : typeof value}`);
    if (value.kind === 'List' && Array.isArray(value.items)) {
      value.items.forEach((item: unknown, i) => {
        if (!isObject(item)) throw new CliError(`${where}: items[${i}] is not a Kubernetes object`);
        out.push({ source: where, object: item });
      });
    } else {
      out.push({ source: where, object: value });
    }
  });
  return out;
}

/** Reads every -f argument in order; "-" is standard input (read once). */
export async function readManifests(files: readonly string[], stdin: Readable): Promise<Manifest[]> {
  const out: Manifest[] = [];
  let stdinText: string | undefined;
  for (const file of files) {
    let text: string;
    if (file === '-') {
      stdinText ??= await readStream(stdin);
      text = stdinText;
    } else {
      text = readText(file);
    }
    out.push(...parseManifests(text, file === '-' ? 'stdin' : file));
  }
  if (out.length === 0) throw new CliError(`no Kubernetes object in ${files.map((f) => (f === '-' ? 'stdin' : f)).join(', ')}`);
  return out;
}
