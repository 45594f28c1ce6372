import { z } from 'zod';
import { isGoDuration } from './duration.js';

// zod gives every rejection an exact path (rules[2].backup.pre.timeout), which
// is what a platform engineer needs to fix a ConfigMap; hand-written checks
// drift from the TypeScript types, a schema cannot.

const duration = z.string().refine(isGoDuration, { message: 'expected a duration like 30s' });

const regex = z.string().superRefine((source, ctx) => {
  try {
    new RegExp(source);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid regular expression: ${(err as Error).message}` });
  }
});

const dnsLabel = z
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

const onError = z.enum(['Continue', 'Fail']);

export const backupHookSchema = z
  .strictObject({ ...commandFields, onError: onError.optional(), timeout: duration.optional() })
  .superRefine(exactlyOneCommand);

export const restoreExecHookSchema = z
  .strictObject({
    ...commandFields,
    onError: onError.optional(),
    execTimeout: duration.optional(),
    waitTimeout: duration.optional(),
  })
  .superRefine(exactlyOneCommand);

export const restoreInitHookSchema = z
  .strictObject({
    ...commandFields,
    /** Image of the init container; defaults to the matched container's image. */
    image: z.string().min(1).optional(),
    containerName: dnsLabel.optional(),
  })
  .superRefine(exactlyOneCommand);

export const ruleMatchSchema = z
  .strictObject({
    namespaces: z.array(z.string().min(1)).min(1).optional(),
    /** Exact label equality; service_id is a label like any other. */
    labels: z.record(z.string(), z.string()).optional(),
    /** Names of containers the hooks may run in, in order of preference. */
    containers: z.array(z.string().min(1)).min(1).optional(),
    /** Regular expression tested against the container image. */
    image: regex.optional(),
  })
  .refine((m) => m.containers !== undefined || m.image !== undefined, {
    message: 'name the container the hooks run in with containers or image',
  });

export const ruleSchema = z.strictObject({
  name: dnsLabel,
  match: ruleMatchSchema,
  backup: z.strictObject({ pre: backupHookSchema.optional(), post: backupHookSchema.optional() }).optional(),
  restore: z
    .strictObject({ post: restoreExecHookSchema.optional(), init: restoreInitHookSchema.optional() })
    .optional(),
});

export const labelSelectorSchema = z.strictObject({
  matchLabels: z.record(z.string(), z.string()),
});

export const hookPolicySchema = z
  .strictObject({
    apiVersion: z.literal('backup.wutong.io/v1alpha1'),
    kind: z.literal('HookPolicy'),
    metadata: z.looseObject({ name: z.string().optional() }).optional(),
    /** Which pods the webhook handles at all. */
    podSelector: labelSelectorSchema.default({ matchLabels: { creator: 'Wutong' } }),
    fileSystemBackup: z
      .strictObject({
        mode: z.enum(['opt-in', 'opt-out']).default('opt-in'),
        /** opt-in only: back up emptyDir volumes too (scratch space is usually not worth it). */
        includeEmptyDir: z.boolean().default(false),
      })
      .default({ mode: 'opt-in', includeEmptyDir: false }),
    rules: z.array(ruleSchema).default([]),
  })
  .superRefine((policy, ctx) => {
    const seen = new Map<string, number>();
    policy.rules.forEach((rule, index) => {
      const first = seen.get(rule.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `duplicate rule name "${rule.name}" (first used by rules[${first}])`,
          path: ['rules', index, 'name'],
        });
      } else {
        seen.set(rule.name, index);
      }
    });
  });

export type HookPolicyDocument = z.output<typeof hookPolicySchema>;
export type HookRule = z.output<typeof ruleSchema>;
export type BackupHook = z.output<typeof backupHookSchema>;
export type RestoreExecHook = z.output<typeof restoreExecHookSchema>;
export type RestoreInitHook = z.output<typeof restoreInitHookSchema>;
export type HookCommand = { command?: string[] | undefined; shell?: string | undefined };
