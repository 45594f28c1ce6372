import { z } from 'zod';
import { MANAGED_ANNOTATION } from '../admission/ownership.js';

/** A value in expected.yaml: the exact string, or `{ contains: text }` for long values such as hook scripts. */
const valueMatcher = z.union([z.string(), z.strictObject({ contains: z.string().min(1) })]);

/**
 * expected.yaml of a `policy test` case. labels/annotations list exactly the
 * keys the webhook adds (nothing more, nothing less) when given, except its
 * own bookkeeping annotation (backup.wutong.io/managed), which is only
 * compared when the case names it; absent lists
 * keys the mutated pod must not carry; warnings lists one substring per
 * expected warning (every warning must be expected).
 */
export const expectedMutationSchema = z.strictObject({
  labels: z.record(z.string(), valueMatcher).optional(),
  annotations: z.record(z.string(), valueMatcher).optional(),
  absent: z.array(z.string()).optional(),
  warnings: z.array(z.string()).optional(),
});

export type ExpectedMutation = z.output<typeof expectedMutationSchema>;
export type ValueMatcher = z.output<typeof valueMatcher>;

export interface ActualMutation {
  addedLabels: Record<string, string>;
  addedAnnotations: Record<string, string>;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  warnings: string[];
}

const SHOWN = 100;

function show(value: string): string {
  const json = JSON.stringify(value);
  return json.length > SHOWN ? `${json.slice(0, SHOWN)}…" (${value.length} characters)` : json;
}

function showMatcher(matcher: ValueMatcher): string {
  return typeof matcher === 'string' ? show(matcher) : `a value containing ${show(matcher.contains)}`;
}

function fits(value: string, matcher: ValueMatcher): boolean {
  return typeof matcher === 'string' ? value === matcher : value.includes(matcher.contains);
}

function diffMap(section: string, expected: Record<string, ValueMatcher>, actual: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [key, matcher] of Object.entries(expected)) {
    const value = actual[key];
    if (value === undefined) out.push(`${section}: - ${key}: ${showMatcher(matcher)} (not added)`);
    else if (!fits(value, matcher)) out.push(`${section}: - ${key}: ${showMatcher(matcher)}`, `${section}: + ${key}: ${show(value)}`);
  }
  for (const [key, value] of Object.entries(actual)) {
    if (!(key in expected)) out.push(`${section}: + ${key}: ${show(value)} (added, not expected)`);
  }
  return out;
}

/** Differences between what a case expects and what the webhook did, one line each; empty when it passes. */
export function diffMutation(expected: ExpectedMutation, actual: ActualMutation): string[] {
  const out: string[] = [];
  if (expected.labels) out.push(...diffMap('labels', expected.labels, actual.addedLabels));
  if (expected.annotations) {
    const { [MANAGED_ANNOTATION]: bookkeeping, ...added } = actual.addedAnnotations;
    const compared = MANAGED_ANNOTATION in expected.annotations || bookkeeping === undefined ? actual.addedAnnotations : added;
    out.push(...diffMap('annotations', expected.annotations, compared));
  }
  for (const key of expected.absent ?? []) {
    const value = actual.annotations[key] ?? actual.labels[key];
    if (value !== undefined) out.push(`absent: + ${key}: ${show(value)} (present, expected absent)`);
  }
  if (expected.warnings) {
    const left = [...actual.warnings];
    for (const text of expected.warnings) {
      const index = left.findIndex((w) => w.includes(text));
      if (index < 0) out.push(`warnings: - a warning containing ${show(text)} (none)`);
      else left.splice(index, 1);
    }
    out.push(...left.map((w) => `warnings: + ${show(w)} (not expected)`));
  }
  return out;
}
