import { ChangeFeed } from '../change-feed.js';
import { componentKey, type ComponentKey } from '../components/component-key.js';
import { RESTORE_STAGES, stageOf, type RestoreRequestRecord } from './restore-request.js';

/**
 * Every restore request record as the watch last saw it, by name, with a
 * change feed (the controller loop's trigger) and a per-component lookup
 * (the API's restore records). Pure: src/kube/restore-requests.ts feeds it,
 * and the controller puts in what it wrote itself (read-your-writes).
 */
export class RestoreRequestIndex extends ChangeFeed<string> {
  readonly #records = new Map<string, RestoreRequestRecord>();

  upsert(record: RestoreRequestRecord): void {
    const held = this.#records.get(record.name);
    // A watch event older than what the controller wrote itself must not move a restore back a stage.
    if (held && held.uid === record.uid && RESTORE_STAGES.indexOf(stageOf(held)) > RESTORE_STAGES.indexOf(stageOf(record))) return;
    this.#records.set(record.name, record);
    this.notify(record.name);
  }

  remove(name: string): void {
    if (this.#records.delete(name)) this.notify(name);
  }

  get(name: string): RestoreRequestRecord | undefined {
    return this.#records.get(name);
  }

  names(): string[] {
    return [...this.#records.keys()];
  }

  /** The component's requests (by the namespace and service_id they name: records are ours, written by the API after it authorized the caller). */
  of(component: ComponentKey): RestoreRequestRecord[] {
    return [...this.#records.values()].filter((r) => r.request !== undefined && componentKey(r.request.component.namespace, r.request.component.serviceId) === component);
  }

  /** The request of the restore named `restoreName`, if one is held. */
  forRestore(restoreName: string): RestoreRequestRecord | undefined {
    return [...this.#records.values()].find((r) => r.request?.restoreName === restoreName);
  }
}
