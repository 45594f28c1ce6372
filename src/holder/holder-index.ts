import { ChangeFeed } from '../change-feed.js';
import { componentKey, type ComponentKey } from '../components/component-key.js';
import type { HolderPodView } from './holder-view.js';

/**
 * Every holder pod in the cluster as the holder watch last saw it, by
 * `namespace/name`, with a change feed (the sweep loop's trigger) and a
 * per-component index. Pure: src/kube/holder-watch.ts feeds it.
 */
export class HolderIndex extends ChangeFeed<string> {
  readonly #holders = new Map<string, HolderPodView>();

  static keyOf(holder: Pick<HolderPodView, 'namespace' | 'name'>): string {
    return `${holder.namespace}/${holder.name}`;
  }

  upsert(holder: HolderPodView): void {
    const key = HolderIndex.keyOf(holder);
    this.#holders.set(key, holder);
    this.notify(key);
  }

  remove(namespace: string, name: string): void {
    const key = HolderIndex.keyOf({ namespace, name });
    if (this.#holders.delete(key)) this.notify(key);
  }

  get(key: string): HolderPodView | undefined {
    return this.#holders.get(key);
  }

  keys(): string[] {
    return [...this.#holders.keys()];
  }

  /** The holders of one component: its namespace's holder pods labelled with its service_id (normally none or one). */
  keysOf(component: ComponentKey): string[] {
    return [...this.#holders.entries()].filter(([, h]) => componentKey(h.namespace, h.serviceId) === component).map(([key]) => key);
  }

  get size(): number {
    return this.#holders.size;
  }
}
