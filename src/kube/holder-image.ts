import type { Logger } from 'pino';
import { unavailable } from '../api/api-error.js';
import { isObject } from '../is-object.js';
import type { KubeHttp } from './kube-http.js';

export interface HolderImageOptions {
  /** HOLDER_IMAGE, when set: wins. */
  configured: string | undefined;
  /** POD_NAMESPACE / POD_NAME (the Deployment's downward API). */
  namespace: string;
  podName: string | undefined;
  /** The Deployment's container that runs this process. */
  container: string;
  timeoutMs: number;
}

/**
 * The image holder pods run: HOLDER_IMAGE, else the image this very pod
 * runs, read once from its own Pod object. Not a default written into the
 * Deployment's env: kustomize's `images:` (and `kubectl set image`) rewrite
 * a container's image but not an env value, so the two would drift apart,
 * and a holder would pull an image nobody deployed. Read on first use, kept
 * once read; a failure is not kept (the next backup asks again).
 */
export function holderImageSource(http: KubeHttp, options: HolderImageOptions, log: Logger): () => Promise<string> {
  if (options.configured) {
    const image = options.configured;
    return () => Promise.resolve(image);
  }
  let known: string | undefined;
  return async () => {
    if (known !== undefined) return known;
    const where = `${options.namespace}/${options.podName ?? '(POD_NAME unset)'}`;
    const fail = (why: string): Error =>
      unavailable(`the holder pod's image is unknown: set HOLDER_IMAGE, or run in a pod that can read itself (pod ${where}: ${why})`, 'holder_image_unknown');
    if (!options.podName) throw fail('POD_NAME is not set');
    const response = await http.send('GET', `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/pods/${encodeURIComponent(options.podName)}`, undefined, options.timeoutMs);
    if (response.status !== 200) throw fail(`HTTP ${response.status}`);
    const spec = isObject(response.body) && isObject(response.body.spec) ? response.body.spec : {};
    const containers = (Array.isArray(spec.containers) ? spec.containers : []).filter(isObject);
    const image = (containers.find((c) => c.name === options.container) ?? containers[0])?.image;
    if (typeof image !== 'string' || image === '') throw fail(`it has no container ${options.container} with an image`);
    known = image;
    log.info({ image }, 'holder pods run this pod\'s own image');
    return image;
  };
}
