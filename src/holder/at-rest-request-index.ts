import { ChangeFeed } from '../change-feed.js';
import type { AtRestRequestRecord } from './at-rest-request.js';

/**
 * Every request record as the controller's watch last saw it, by name, with
 * a change feed (the request loop's trigger). Pure: src/kube/at-rest-requests.ts
 * feeds it, and the loop puts in what it wrote itself (read-your-writes).
 */
export class AtRestRequestIndex extends ChangeFeed<string> {
  readonly #records = new Map<string, AtRestRequestRecord>();

  upsert(record: AtRestRequestRecord): void {
    const held = this.#records.get(record.name);
    // A watch event older than what the loop wrote itself must not bring an undecided version back.
    if (held?.decision && !record.decision && held.uid === record.uid) return;
    this.#records.set(record.name, record);
    this.notify(record.name);
  }

  remove(name: string): void {
    if (this.#records.delete(name)) this.notify(name);
  }

  get(name: string): AtRestRequestRecord | undefined {
    return this.#records.get(name);
  }

  names(): string[] {
    return [...this.#records.keys()];
  }
}
