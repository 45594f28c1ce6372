import { ChangeFeed } from './change-feed.js';

/** What every request record (at-rest backups, restores, downloads) has for the index. */
export interface IndexedRecord {
  name: string;
  uid: string;
}

/**
 * Every request record of one kind as the watch last saw it, by name, with a
 * change feed (the request loop's trigger). Pure: a src/kube/*-requests.ts
 * watch feeds it, and the loop puts in what it wrote itself (read-your-writes),
 * so a watch event older than that write must not undo it: `behind(held,
 * incoming)` says when the incoming version of the same object (same uid) is
 * older than the one held, and it is then ignored.
 */
export class RequestRecordIndex<R extends IndexedRecord> extends ChangeFeed<string> {
  readonly #records = new Map<string, R>();

  constructor(private readonly behind: (held: R, incoming: R) => boolean) {
    super();
  }

  upsert(record: R): void {
    const held = this.#records.get(record.name);
    if (held && held.uid === record.uid && this.behind(held, record)) return;
    this.#records.set(record.name, record);
    this.notify(record.name);
  }

  remove(name: string): void {
    if (this.#records.delete(name)) this.notify(name);
  }

  get(name: string): R | undefined {
    return this.#records.get(name);
  }

  names(): string[] {
    return [...this.#records.keys()];
  }

  protected records(): R[] {
    return [...this.#records.values()];
  }
}

/** `behind` for records that move through stages in one order: an incoming record at an earlier stage is older. */
export function stageBehind<R, S>(stages: readonly S[], stageOf: (record: R) => S): (held: R, incoming: R) => boolean {
  return (held, incoming) => stages.indexOf(stageOf(held)) > stages.indexOf(stageOf(incoming));
}
