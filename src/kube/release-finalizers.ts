// `wutong-backup release-finalizers`: the data guard's uninstall step, for
// when no controller will run again (or none runs now and a deletion must
// not wait for one). Every PVC carrying the finalizer loses it; one being
// deleted and bound to a PV first has that PV kept (Retain, marked, recorded)
// exactly as the controller keeps an uncovered one, since this command does
// not judge backups: data is never lost by running it, and a kept volume an
// operator does not need is released by hand (README "Deletion safety").
import { EVERY_NAMESPACE } from '../tenancy/tenant-directory.js';
import { ComponentRegistry } from '../components/component-registry.js';
import { PROTECTION_ANNOTATION } from '../components/protection-keys.js';
import { WUTONG_CREATOR, WUTONG_LABEL } from '../components/wutong-labels.js';
import { finalizersWith, hasGuard } from '../controller/data-guard.js';
import { retainedRecordObject, retainPlan, volumeFacts } from '../controller/retained-volume.js';
import { isObject } from '../is-object.js';
import { claimPatcher } from './claim-patcher.js';
import { COMPONENT_SOURCES } from './component-watch.js';
import { KubeHttpError, type KubeHttp } from './kube-http.js';
import { listAllPages } from './paginated-list.js';
import { retainedRecordStore } from './retained-records.js';
import { volumeStore } from './volume-store.js';

export interface ReleaseOptions {
  /** Only this namespace's PVCs; all namespaces when unset. */
  namespace?: string;
  /** Where the project keeps its records (its own namespace). */
  recordNamespace: string;
  requestTimeoutMs: number;
  now: Date;
}

export interface ReleasedClaim {
  claim: string;
  /** The PV kept (Retain) before the finalizer went, for a PVC being deleted. */
  keptVolume?: string;
  /** Why a record could not be written (the PV is still marked and labelled). */
  note?: string;
}

const REASON = 'released by wutong-backup release-finalizers while being deleted: no controller checked for a covering backup';

export async function releaseFinalizers(http: KubeHttp, options: ReleaseOptions): Promise<ReleasedClaim[]> {
  const source = COMPONENT_SOURCES.find((s) => s.kind === 'PersistentVolumeClaim');
  if (!source) throw new Error('no PersistentVolumeClaim source');
  const path = options.namespace ? `/api/v1/namespaces/${encodeURIComponent(options.namespace)}/persistentvolumeclaims` : source.path;
  const registry = new ComponentRegistry(EVERY_NAMESPACE);
  for (const item of await listAllPages(http, path, { labelSelector: `${WUTONG_LABEL.creator}=${WUTONG_CREATOR}` }, options.requestTimeoutMs)) {
    if (isObject(item)) registry.upsert(source.summarize(item));
  }
  const claims = claimPatcher(http, options.requestTimeoutMs);
  const volumes = volumeStore(http, options.requestTimeoutMs);
  const records = retainedRecordStore(http, options.recordNamespace, options.requestTimeoutMs);
  const released: ReleasedClaim[] = [];
  for (const component of registry.all()) {
    for (const claim of component.claims.filter(hasGuard)) {
      const out: ReleasedClaim = { claim: `${claim.namespace}/${claim.name}` };
      if (claim.deletionTimestamp !== undefined && claim.phase === 'Bound' && claim.volumeName !== undefined) {
        const pv = volumeFacts(await volumes.get(claim.volumeName));
        const plan = retainPlan(claim, pv, component.serviceId, options.now);
        if (plan.kind === 'retain' && pv) {
          if (plan.patch && (await volumes.patch(pv.name, plan.patch)) === 'gone') throw new Error(`PersistentVolume ${pv.name} vanished; run the command again`);
          out.keptVolume = pv.name;
          try {
            await records.create(retainedRecordObject(options.recordNamespace, component, claim, pv, plan.mark, REASON));
          } catch (err) {
            // The namespace may already be gone mid-uninstall: the PV's own mark and label still say what it is.
            if (!(err instanceof KubeHttpError)) throw err;
            out.note = `no record written (${err.message}); the PV carries label backup.wutong.io/retained-volume`;
          }
        }
      }
      await claims.patch(claim.namespace, claim.name, { finalizers: finalizersWith(claim, false), annotations: { [PROTECTION_ANNOTATION.guardRule]: null } }, claim.resourceVersion);
      released.push(out);
    }
  }
  return released;
}
