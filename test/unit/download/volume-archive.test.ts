import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync, appendFileSync, readdirSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { planVolumeArchive, packVolumeArchive } from '../../../src/download/volume-archive.js';

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Every regular file under `root` by its path relative to root, with its sha256; links by their target. */
function tree(root: string, skip: (rel: string) => boolean = () => false): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const rel = relative(root, path);
      if (skip(rel)) continue;
      const stat = lstatSync(path);
      if (stat.isDirectory()) walk(path);
      else if (stat.isSymbolicLink()) out[rel] = `-> ${readlinkSync(path)}`;
      else out[rel] = sha256(path);
    }
  };
  walk(root);
  return out;
}

async function drain(stream: AsyncIterable<unknown>, into: string): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) {
    appendFileSync(into, chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return bytes;
}

describe('the download holder’s volume archive', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'volume-archive-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function volume(name: string): string {
    const root = join(dir, 'mounts', name);
    mkdirSync(root, { recursive: true });
    return root;
  }

  it('holds every file of every volume under volumes/<claim>/, byte for byte (GNU tar extracts it), and its exact size is known before streaming', async () => {
    const data = volume('data');
    mkdirSync(join(data, 'mysql/db1'), { recursive: true });
    writeFileSync(join(data, 'mysql/db1/t1.ibd'), Buffer.alloc(300_000, 7));
    writeFileSync(join(data, 'dump.sql'), 'CREATE TABLE t (id int);\n');
    writeFileSync(join(data, 'empty'), '');
    // A name over tar's 100-byte ustar field and a non-ASCII one: tar-stream writes pax headers, the size still matches.
    const deep = join(data, 'a'.repeat(60), 'b'.repeat(60));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, `${'c'.repeat(120)}.txt`), 'long');
    writeFileSync(join(data, 'données.txt'), 'é');
    symlinkSync('dump.sql', join(data, 'latest.sql'));
    const logs = volume('logs');
    writeFileSync(join(logs, 'app.log'), 'line\n'.repeat(10_000));

    const plan = await planVolumeArchive([
      { claim: 'data', root: data },
      { claim: 'logs', root: logs },
    ]);
    const archive = join(dir, 'out.tar');
    const sent = await drain(packVolumeArchive(plan), archive);
    expect(sent).toBe(plan.size);
    expect(plan.files).toBe(6);

    const out = join(dir, 'extracted');
    mkdirSync(out);
    execFileSync('tar', ['-xf', archive, '-C', out]);
    expect(tree(join(out, 'volumes/data'))).toEqual(tree(data));
    expect(tree(join(out, 'volumes/logs'))).toEqual(tree(logs));
    expect(readdirSync(join(out, 'volumes')).sort()).toEqual(['data', 'logs']);
  });

  it('leaves out the .velero/ folder Velero’s restore leaves at a volume’s root, and only there', async () => {
    const data = volume('data');
    mkdirSync(join(data, '.velero'));
    writeFileSync(join(data, '.velero', '0b3c7d6e-restore-uid'), '');
    mkdirSync(join(data, 'app/.velero'), { recursive: true });
    writeFileSync(join(data, 'app/.velero/mine'), 'the application’s own folder of that name');
    const plan = await planVolumeArchive([{ claim: 'data', root: data }]);
    const names = plan.entries.map((e) => e.header.name);
    expect(names).not.toContain('volumes/data/.velero/');
    expect(names).toContain('volumes/data/app/.velero/mine');
  });

  it('fails the stream, rather than send other bytes than announced, when a file changed after the walk', async () => {
    const data = volume('data');
    writeFileSync(join(data, 'grows'), 'abc');
    const plan = await planVolumeArchive([{ claim: 'data', root: data }]);
    writeFileSync(join(data, 'grows'), 'a');
    await expect(drain(packVolumeArchive(plan), join(dir, 'out.tar'))).rejects.toThrow(/size mismatch/i);
  });

  it('archives a symbolic link as a link and never follows it out of the volume', async () => {
    const data = volume('data');
    writeFileSync(join(dir, 'secret-outside'), 'not the component’s');
    symlinkSync(join(dir, 'secret-outside'), join(data, 'escape'));
    const plan = await planVolumeArchive([{ claim: 'data', root: data }]);
    const archive = join(dir, 'out.tar');
    await drain(packVolumeArchive(plan), archive);
    const listing = execFileSync('tar', ['-tvf', archive], { encoding: 'utf8' });
    expect(listing).toContain(`volumes/data/escape -> ${join(dir, 'secret-outside')}`);
    expect(plan.files).toBe(0);
  });
});
