import type { Logger } from 'pino';
import { PROTECTION_LABEL } from '../components/protection-keys.js';
import type { HolderIndex } from '../holder/holder-index.js';
import { viewHolderPod } from '../holder/holder-view.js';
import type { KubeHttp } from './kube-http.js';
import { listWatch, type ListWatch } from './list-watch.js';

/**
 * A cluster-wide list-watch of holder pods (label PROTECTION_LABEL.holder,
 * any value): the ones this project made, the ones Velero restored, and any
 * a crash left. Few objects, so it costs next to nothing; the project's one
 * listWatch (410 relist, idle deadline, backoff, periodic relist).
 */
export function watchHolders(http: KubeHttp, index: HolderIndex, log: Logger): ListWatch {
  const watch = listWatch(
    http,
    { path: '/api/v1/pods', labelSelector: PROTECTION_LABEL.holder, watchTimeoutSeconds: 300, relistIntervalMs: 15 * 60_000 },
    {
      upsert(raw) {
        const view = viewHolderPod(raw);
        if (view) index.upsert(view);
      },
      remove(raw) {
        index.remove(raw.metadata?.namespace ?? '', raw.metadata?.name ?? '');
      },
    },
    log.child({ component: 'holder-watch' }),
  );
  return {
    start: () => watch.start().then(() => index.markSynced()),
    stop: () => watch.stop(),
  };
}
