import { z } from 'zod';
import { isGoDuration } from '../duration.js';

// One hook of a HookPolicy (a Velero backup or restore hook): complete, as
// the built-in profiles (profiles/) and the compiled policy hold it, and as a
// rule writes it to override a profile's. Kept apart from the policy's schema
// (hook-policy-schema.ts) because that schema checks rules against the
// profiles, and the profiles are made of these hooks: one file for both was
// an import cycle.

const duration = z.string().refine(isGoDuration, { message: 'expected a duration like 30s' });

/** A lowercase DNS label (RFC 1123): an init container's name here, a rule's name in the policy. */
export const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'expected a lowercase DNS label (a-z, 0-9, -)' })
  .max(63);

const argv = z.array(z.string()).min(1, { message: 'expected at least one argument' });

/** A hook runs either an argv (`command`) or a shell script (`shell`), never both. */
const commandFields = {
  command: argv.optional(),
  shell: z.string().min(1).optional(),
};

function exactlyOneCommand<T extends { command?: string[] | undefined; shell?: string | undefined }>(
  value: T,
  ctx: z.RefinementCtx,
): void {
  if ((value.command === undefined) === (value.shell === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'set exactly one of command or shell', path: ['command'] });
  }
}

/** In a rule a hook may give neither (it keeps its profile's script, checked per rule); both would be ambiguous. */
function atMostOneCommand<T extends { command?: string[] | undefined; shell?: string | undefined }>(
  value: T,
  ctx: z.RefinementCtx,
): void {
  if (value.command !== undefined && value.shell !== undefined) {
    ctx.addIssue({ code: 'custom', message: 'set exactly one of command or shell', path: ['command'] });
  }
}

const onError = z.enum(['Continue', 'Fail']);

const backupHookFields = z.strictObject({ ...commandFields, onError: onError.optional(), timeout: duration.optional() });
const restoreExecHookFields = z.strictObject({
  ...commandFields,
  onError: onError.optional(),
  execTimeout: duration.optional(),
  waitTimeout: duration.optional(),
});
const restoreInitHookFields = z.strictObject({
  ...commandFields,
  /** Image of the init container; defaults to the matched container's image. */
  image: z.string().min(1).optional(),
  containerName: dnsLabel.optional(),
});

export const backupHookSchema = backupHookFields.superRefine(exactlyOneCommand);
export const restoreExecHookSchema = restoreExecHookFields.superRefine(exactlyOneCommand);
export const restoreInitHookSchema = restoreInitHookFields.superRefine(exactlyOneCommand);

/**
 * A hook as a rule writes it. With a profile, its fields override the
 * profile's hook one by one (command or shell replaces the script), and
 * `false` removes the profile's hook; without a profile it must be complete,
 * which the rule checks. `false` becomes `{ disabled: true }` here so the
 * error paths of a bad hook stay those of an object, not of a union.
 */
const DISABLED = { disabled: z.literal(true).optional() };
const falseToDisabled = (value: unknown): unknown => (value === false ? { disabled: true } : value);
export const backupHookInRule = z.preprocess(falseToDisabled, backupHookFields.extend(DISABLED).superRefine(atMostOneCommand));
export const restoreExecHookInRule = z.preprocess(
  falseToDisabled,
  restoreExecHookFields.extend(DISABLED).superRefine(atMostOneCommand),
);
export const restoreInitHookInRule = z.preprocess(
  falseToDisabled,
  restoreInitHookFields.extend(DISABLED).superRefine(atMostOneCommand),
);

export type BackupHook = z.output<typeof backupHookSchema>;
export type RestoreExecHook = z.output<typeof restoreExecHookSchema>;
export type RestoreInitHook = z.output<typeof restoreInitHookSchema>;
export type HookCommand = { command?: string[] | undefined; shell?: string | undefined };
