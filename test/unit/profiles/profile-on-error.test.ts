import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hookTemplates } from '../../../src/policy/hook-templates.js';
import { resolveRule } from '../../../src/policy/profiles/resolve-profiles.js';
import { PROFILES } from '../../../src/policy/profiles/profile-registry.js';
import { PACKAGE_ROOT } from '../../../src/package-root.js';

// Velero v1.11.1 fails a hook's item only for an explicit on-error "Fail": an unset on-error goes on, as Continue
// (internal/hook/item_hook_handler.go L230, L312-315; the restore side wait_exec_hook_handler.go L160, L174), although
// Velero's docs and pod_command_executor.go's log line say Fail. So every exec hook a profile writes carries its choice
// as an annotation, and docs/profiles.md states the same choice.

const execKinds = new Set(['pre-backup', 'post-backup', 'post-restore']);

describe.each(PROFILES.map((p) => [p.name, p] as const))('profile %s', (name) => {
  test.each([false, true])('every exec hook writes on-error Fail or Continue (dumps.removeAfterBackup %s)', (removeAfterBackup) => {
    const { rule } = resolveRule({ name: 'r', profile: name }, 0, removeAfterBackup);
    for (const template of hookTemplates(rule).filter((t) => execKinds.has(t.kind))) {
      const onError = template.fixed.find(([suffix]) => suffix === 'on-error')?.[1];
      expect([template.kind, onError]).toEqual([template.kind, expect.stringMatching(/^(Fail|Continue)$/)]);
    }
  });
});

test("docs/profiles.md's table gives each profile's pre-backup on-error as the profile writes it", () => {
  const docs = readFileSync(join(PACKAGE_ROOT, 'docs', 'profiles.md'), 'utf8');
  for (const profile of PROFILES) {
    const row = docs.split('\n').find((line) => line.startsWith(`| ${profile.name} |`));
    expect([profile.name, row?.split('|').at(-2)?.trim()]).toEqual([profile.name, profile.backup.pre?.onError]);
  }
});

test('docs/profiles.md says what Velero does with an unset on-error: it goes on (Continue)', () => {
  const docs = readFileSync(join(PACKAGE_ROOT, 'docs', 'profiles.md'), 'utf8');
  expect(docs).not.toMatch(/on-error`? defaults to \*\*Fail\*\*/);
  expect(docs).toContain('Without `on-error`, a failed hook **goes on** (Continue)');
});
