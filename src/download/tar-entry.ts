// Tar bytes for entries the API writes itself (manifests.tar.gz, the list of
// missing volumes) in front of the holder's volume archive, and the exact
// size of header blocks the holder announces before it streams. Both come
// from tar-stream itself, so a size announced is the size sent: a header's
// encoding (ustar, or a pax header for long or non-ASCII names) never
// depends on the content's size (tar-stream 3.2.2 headers.js encode).
import tar, { type Header } from 'tar-stream';

/** An entry's header as tar-stream takes it: a name, the rest defaulted. */
export type EntryHeader = Partial<Header> & { name: string };

/** A tar stream ends with two zero blocks (tar-stream pack.js END_OF_TAR). */
export const END_OF_TAR_BYTES = 1024;
export const BLOCK = 512;

/** Content rounded up to whole 512-byte blocks, as tar stores it. */
export const paddedSize = (size: number): number => Math.ceil(size / BLOCK) * BLOCK;

async function collect(pack: tar.Pack): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/**
 * The header blocks of every entry, with their content left out, and the
 * end-of-archive marker: what a pack of these headers with empty contents
 * writes. A copy of each header is packed (tar-stream fills in defaults).
 */
export async function headerBytes(headers: readonly EntryHeader[]): Promise<number> {
  const pack = tar.pack();
  const written = collect(pack);
  for (const header of headers) pack.entry({ ...header, size: 0 }, Buffer.alloc(0));
  pack.finalize();
  return (await written).length;
}

/** One entry with its content, as bytes that go before another tar stream (no end-of-archive marker). */
export async function entryBytes(header: EntryHeader, content: Buffer): Promise<Buffer> {
  const pack = tar.pack();
  const written = collect(pack);
  pack.entry({ ...header }, content);
  pack.finalize();
  const bytes = await written;
  return bytes.subarray(0, bytes.length - END_OF_TAR_BYTES);
}
