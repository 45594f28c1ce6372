import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import { applyPolicyText } from './apply-policy-text.js';
import type { PolicyStore } from './policy-store.js';

/**
 * Follows a policy file. Polling the file's stat (rather than fs.watch)
 * survives editors and kubelet replacing the file through a symlink swap.
 */
export function watchPolicyFile(store: PolicyStore, path: string, log: Logger, intervalMs = 500): () => void {
  const reload = (): void => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      log.error({ path, err: (err as Error).message }, 'policy file unreadable; keeping the last good policy');
      return;
    }
    applyPolicyText(store, text, path, log);
  };
  watchFile(path, { interval: intervalMs }, (curr, prev) => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size || curr.ino !== prev.ino) reload();
  });
  return () => unwatchFile(path);
}
