import type { BackupHook } from '../hook-schema.js';

// Building blocks shared by the profiles' shell scripts. The scripts run
// with /bin/sh (POSIX, dash or busybox), never bash: database images do not
// all ship bash.

/** First line of every script: the data directory, shell-quoted by the renderer. */
export const DATA_DIR_LINE = 'data={{dataDir}}';

/** Defines pick: prints the path of the first installed tool of its arguments, or fails naming them all. */
export const PICK_TOOL =
  'pick() { for t in "$@"; do command -v "$t" && return 0; done; echo "none of $* is installed in this container" >&2; return 1; }';

/**
 * Lines that retry `probe` every 2 seconds until it succeeds, then go on;
 * after `seconds` they fail with a message naming `what`. Velero's own
 * restore wait-timeout only waits for the container to run, not for the
 * server in it to accept connections, hence this loop.
 */
export function waitUntil(probe: string, what: string, seconds: number): string {
  return [
    'waited=0',
    `until ${probe} >/dev/null 2>&1; do`,
    `  if [ "$waited" -ge ${seconds} ]; then echo "${what} did not accept connections within ${seconds}s" >&2; exit 1; fi`,
    '  sleep 2',
    '  waited=$((waited + 2))',
    'done',
  ].join('\n');
}

/**
 * Post-backup hook deleting a dump, as a plain argv: it needs no shell, so
 * it also works in images without one. A leftover dump is harmless (the
 * next backup replaces it), hence on-error Continue.
 */
export function removeDumpHook(file: string): BackupHook {
  return { command: ['rm', '-f', '--', `{{dataDir}}/${file}`], onError: 'Continue', timeout: '1m' };
}

/**
 * Opening lines of every import (restore) script: stop quietly when the
 * restored volume holds no dump, e.g. a backup taken before the profile was
 * in force.
 */
export function importPreamble(file: string): string[] {
  return ['set -eu', `dump={{dataDir}}/${file}`, 'if [ ! -f "$dump" ]; then echo "no dump at $dump: nothing to import"; exit 0; fi'];
}

/** Last line of every dump script: the finished dump replaces the previous one in one rename. */
export const COMMIT_DUMP = 'mv -f "$out.tmp" "$out"';

/** Joins script lines; a trailing newline keeps `sh -c` output tidy in Velero's logs. */
export function script(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}
