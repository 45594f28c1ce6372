import { cli } from './run-cli-in-process.js';

describe('help and usage errors', () => {
  test.each([
    [['--help'], 'Usage: wutong-backup COMMAND'],
    [['mutate', '--help'], 'Usage: wutong-backup mutate -f FILE'],
    [['explain', '-h'], 'Usage: wutong-backup explain -f FILE'],
    [['policy', '--help'], 'Usage: wutong-backup policy validate FILE... | policy test DIR'],
    [['policy', 'validate', '--help'], 'Usage: wutong-backup policy validate FILE...'],
    [['policy', 'test', '--help'], 'Usage: wutong-backup policy test DIR'],
    [['certs', '--help'], 'Usage: wutong-backup certs generate'],
  ])('%j prints its usage and exits 0', async (args, first) => {
    const run = await cli(args);
    expect(run.code).toBe(0);
    expect(run.stdout.startsWith(first)).toBe(true);
  });

  test.each([
    [['frobnicate'], 'wutong-backup: unknown command "frobnicate" (see: wutong-backup --help)'],
    [['mutate'], 'wutong-backup: mutate needs -f FILE (or -f - for stdin) (see: wutong-backup mutate --help)'],
    [['mutate', '-f', 'x', '--bogus'], "wutong-backup: Unknown option '--bogus' (see: wutong-backup mutate --help)"],
    [['mutate', '-f', 'x', '-o', 'xml'], 'wutong-backup: unknown output format "xml"; use yaml, json or patch (see: wutong-backup mutate --help)'],
    [['explain', '-f'], "wutong-backup: Option '-f, --filename <value>' argument missing (see: wutong-backup explain --help)"],
    [['policy', 'lint'], 'wutong-backup: unknown policy command "lint"; use validate or test (see: wutong-backup policy --help)'],
    [['policy', 'validate'], 'wutong-backup: policy validate needs the policy file to check (see: wutong-backup policy validate --help)'],
    [['policy', 'test', 'a', 'b'], 'wutong-backup: policy test needs exactly one directory (see: wutong-backup policy test --help)'],
  ])('%j is a usage error: one line, exit 2', async (args, line) => {
    expect(await cli(args)).toEqual({ code: 2, stdout: '', stderr: `${line}\n` });
  });

  test('no command prints the usage on stderr and exits 2', async () => {
    const run = await cli([]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Commands:');
  });

  test('an unreadable manifest, and YAML that is not an object, are one line each', async () => {
    expect(await cli(['mutate', '-f', '/nonexistent/pod.yaml'])).toEqual({ code: 1, stdout: '', stderr: 'wutong-backup: cannot read /nonexistent/pod.yaml: no such file\n' });
    expect(await cli(['mutate', '-f', '-'], '- just\n- a list\n')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'wutong-backup: stdin (document 1): expected a Kubernetes object, got a list\n',
    });
    const broken = await cli(['explain', '-f', '-'], 'kind: Pod\nmetadata: {name: [x\n');
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^wutong-backup: stdin: invalid YAML: [^\n]*\n$/);
    expect(await cli(['mutate', '-f', '-'], '# nothing\n')).toEqual({ code: 1, stdout: '', stderr: 'wutong-backup: no Kubernetes object in stdin\n' });
  });
});
