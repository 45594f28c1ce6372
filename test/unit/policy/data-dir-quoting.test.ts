import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { renderCommand } from '../../../src/policy/hook-templates.js';
import { shellQuote } from '../../../src/policy/shell-quote.js';

/** What Velero would exec for this hook with this mount path. */
function argvFor(hook: { shell?: string; command?: string[] }, dataDir: string): string[] {
  return JSON.parse(renderCommand(hook).render(dataDir)) as string[];
}

function run(argv: string[]): { status: number | null; stdout: string; stderr: string } {
  const [file, ...args] = argv;
  const result = spawnSync(file ?? '', args, { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'wutong-backup-quoting-'));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('{{dataDir}} in a shell hook', () => {
  const awkward = () => join(scratch, "mysql data/it's here");

  test('renders as /bin/sh -c with the path quoted, and the script parses (sh -n)', () => {
    const argv = argvFor({ shell: 'out={{dataDir}}/.dump.sql\n: > "$out"' }, awkward());
    expect(argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(argv[2]).toBe(`out='${scratch}/mysql data/it'\\''s here'/.dump.sql\n: > "$out"`);
    expect(run(['/bin/sh', '-n', '-c', argv[2] ?? ''])).toMatchObject({ status: 0, stderr: '' });
  });

  test('executing the script writes into the directory with a space and a quote in its name', () => {
    const dir = awkward();
    mkdirSync(dir, { recursive: true });
    const argv = argvFor(
      { shell: 'set -eu\nout={{dataDir}}/.wutong-backup.sql\nprintf "%s" dumped > "$out.tmp"\nmv -f "$out.tmp" "$out"\nprintf "%s" "$out"' },
      dir,
    );
    const stdout = execFileSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8' });
    expect(stdout).toBe(`${dir}/.wutong-backup.sql`);
    expect(readFileSync(join(dir, '.wutong-backup.sql'), 'utf8')).toBe('dumped');
  });

  test('"{{ dataDir }}" with spaces is substituted like "{{dataDir}}" (the validator accepts both)', () => {
    const hook = { shell: 'cd {{ dataDir }} && pwd' };
    expect(renderCommand(hook).needsDataDir).toBe(true);
    const dir = awkward();
    mkdirSync(dir, { recursive: true });
    expect(run(argvFor(hook, dir)).stdout).toBe(`${dir}\n`);
  });

  test('a mount path with shell syntax runs nothing: it is one literal word', () => {
    const marker = join(scratch, 'pwned');
    const hostile = `/x/$(touch ${marker})/\`touch ${marker}\`/;touch ${marker};'"$HOME&|<>*?[a]{b,c}~\n$&$1`;
    const result = run(argvFor({ shell: 'printf "%s" {{dataDir}}' }, hostile));
    expect(result).toMatchObject({ status: 0, stdout: hostile });
    expect(existsSync(marker)).toBe(false);
  });

  // Shell metacharacters, often, mixed with any printable text (no NUL: no path holds one).
  const pathChar = fc.oneof(fc.constantFrom(..."'\"\\$`!#&*()[]{};|<>?~= \t\n/-."), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }));

  test('any mount path arrives intact in the script', () => {
    fc.assert(
      fc.property(fc.string({ unit: pathChar, maxLength: 20 }), (dataDir) => {
        const result = run(argvFor({ shell: 'printf "%s|" {{dataDir}} {{dataDir}}' }, dataDir));
        expect(result.stdout).toBe(`${dataDir}|${dataDir}|`);
      }),
      { numRuns: 100 },
    );
  }, 60_000); // 100 shells: a limit for a busy machine, not a timing assertion
});

describe('{{dataDir}} in an argv hook', () => {
  test('is substituted verbatim: no shell reads it, so quoting would corrupt it', () => {
    const dir = join(scratch, "argv dir/it's");
    mkdirSync(dir, { recursive: true });
    const argv = argvFor({ command: ['/usr/bin/touch', '{{dataDir}}/.marker'] }, dir);
    expect(argv).toEqual(['/usr/bin/touch', `${dir}/.marker`]);
    execFileSync(argv[0] ?? '', argv.slice(1));
    expect(existsSync(join(dir, '.marker'))).toBe(true);
  });

  test('"$&" in the path is kept literally', () => {
    expect(argvFor({ command: ['ls', '{{dataDir}}'] }, '/data/$&$1')).toEqual(['ls', '/data/$&$1']);
  });
});

describe('a hook without {{dataDir}}', () => {
  test('needs no data directory and renders the same for any pod', () => {
    const rendered = renderCommand({ shell: 'redis-cli BGSAVE' });
    expect(rendered.needsDataDir).toBe(false);
    expect(rendered.render(undefined)).toBe('["/bin/sh","-c","redis-cli BGSAVE"]');
  });
});

describe('shellQuote', () => {
  test.each([
    ['/var/lib/mysql', '/var/lib/mysql'],
    ['', "''"],
    ['/a b', "'/a b'"],
    ["it's", "'it'\\''s'"],
    ['~/x', "'~/x'"],
  ])('%j → %j', (value, quoted) => {
    expect(shellQuote(value)).toBe(quoted);
  });
});
