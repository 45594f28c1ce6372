// The API's side of the at-rest hand-over (src/holder/at-rest-request.ts):
// the backup of a stopped component needs a holder pod, which only the
// controller may create. The API writes the request record and waits,
// bounded by the record's deadline, for the outcome the controller writes
// into it; a retry with the same Idempotency-Key meets the first try's
// record and waits on that one.
import { unavailable } from '../api-error.js';
import type { Component } from '../../components/component.js';
import { atRestRequestName, atRestRequestObject, handoffTimes, readAtRestRequest, type HandoffOutcome } from '../../holder/at-rest-request.js';
import type { VeleroObject } from '../../velero/velero-resources.js';
import { viewBackup } from '../../velero/velero-views.js';
import type { BackupApiDeps } from './backup-api-deps.js';
import { earlierTry, type Idempotency } from './idempotency.js';

export interface HandoffResult {
  /** Undefined: no outcome by the deadline. */
  outcome: HandoffOutcome | undefined;
  /** The Backup the record asks for (the first try's, for a retry). */
  requestedBackup: string;
  ownRecord: boolean;
  waitedMs: number;
}

export async function handOffAtRest(deps: BackupApiDeps, component: Component, backup: VeleroObject, idempotency: Idempotency | undefined): Promise<HandoffResult> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = deps.now();
  const name = atRestRequestName(backup.metadata.name, idempotency?.key);
  const handoff = { component: { namespace: component.namespace, serviceId: component.serviceId }, backup, ...handoffTimes(started, deps.settings.holderStartTimeoutMs) };
  const ownRecord = (await deps.atRestRequests.create(atRestRequestObject(name, handoff))) === 'created';
  let requestedBackup = backup.metadata.name;
  let deadline = Date.parse(handoff.deadline);
  let checked = ownRecord;
  for (;;) {
    const record = readAtRestRequest(await deps.atRestRequests.get(name));
    // Only the controller deletes a record, and only well after its outcome: gone while waited on, it was never answered.
    if (!record?.handoff) throw unavailable(`the backup request ${name} for component ${component.ref.serviceAlias} disappeared before the controller answered it: retry`, 'controller_unavailable');
    if (!checked) {
      // The first try's record: the same key with another body is a client bug (422), as for any other retry.
      const first = viewBackup(record.handoff.backup);
      if (first) earlierTry([first], idempotency);
      requestedBackup = record.handoff.backup.metadata.name;
      deadline = Date.parse(record.handoff.deadline);
      checked = true;
    }
    const waitedMs = deps.now().getTime() - started.getTime();
    if (record.decision) return { outcome: record.decision.outcome, requestedBackup, ownRecord, waitedMs };
    const left = deadline - deps.now().getTime();
    if (left <= 0) return { outcome: undefined, requestedBackup, ownRecord, waitedMs };
    await sleep(Math.min(deps.settings.atRestPollMs, left));
  }
}
