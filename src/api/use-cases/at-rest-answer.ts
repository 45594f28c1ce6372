// What the console hears about a backup of a stopped component, from the
// outcome the controller wrote into the request record (or none by the
// deadline). Pure: at-rest-handoff.ts waits, backups.ts renders the record.
import { conflict, unavailable, type ApiError } from '../api-error.js';
import type { HandoffOutcome } from '../../holder/at-rest-request.js';
import type { BackupView } from '../../velero/velero-views.js';
import { formatDuration } from '../../duration.js';
import { unfinishedBackup } from './unfinished-backup.js';

export interface AtRestAnswerContext {
  serviceAlias: string;
  namespace: string;
  /** The Backup this request asked for (the record's). */
  requestedBackup: string;
  /** The record was this request's own, not an earlier try's met by its Idempotency-Key. */
  ownRecord: boolean;
  /** How long the request waited for the controller. */
  waitedMs: number;
}

export type AtRestAnswer = { kind: 'backup'; backup: BackupView; replayed: boolean } | { kind: 'error'; error: ApiError };

export function atRestAnswer(outcome: HandoffOutcome | undefined, context: AtRestAnswerContext): AtRestAnswer {
  const name = context.serviceAlias;
  const error = (e: ApiError): AtRestAnswer => ({ kind: 'error', error: e });
  const notTaken = (why: string): AtRestAnswer =>
    error(unavailable(`component ${name} is stopped, so its backup is handed to the controller, which makes the holder pod: ${why}; no backup was taken: check that the controller role runs and leads (Lease wutong-backup-controller), then retry`, 'controller_unavailable'));
  if (outcome === undefined) return notTaken(`the controller did not take the request within ${formatDuration(context.waitedMs)}`);
  switch (outcome.kind) {
    case 'started':
      return { kind: 'backup', backup: outcome.backup, replayed: !context.ownRecord };
    case 'earlier':
      // Its own Backup, met again by a controller that ran the record twice (a new leader), is no replay.
      return { kind: 'backup', backup: outcome.backup, replayed: !(context.ownRecord && outcome.backup.metadata.name === context.requestedBackup) };
    case 'unfinished':
      return error(unfinishedBackup(name, outcome.backup));
    case 'holder-busy':
      return error(conflict(`component ${name} is stopped and its volumes are held by holder pod ${context.namespace}/${outcome.holder} for ${outcome.serving}: wait for it to finish`, 'backup_in_progress'));
    case 'no-claims':
      return error(conflict(`component ${name} has no persistent volume claims: there is no data to back up`, 'no_volumes'));
    case 'claims-deleting':
      return error(conflict(`component ${name} is being deleted (PVC ${outcome.claim} has a deletionTimestamp): no pod can mount its data any more`, 'component_deleting'));
    case 'not-running':
      return error(
        unavailable(
          `component ${name} is stopped, so its data is copied through holder pod ${context.namespace}/${outcome.holder}, but ${outcome.why}; it was removed and no backup was taken: check HOLDER_IMAGE and whether a node can attach the component's volumes, then retry`,
          'holder_not_running',
        ),
      );
    case 'expired':
      return notTaken('the controller met the request too late to start it');
    case 'refused':
      return error(unavailable(`component ${name} is stopped and the controller refused its backup request: ${outcome.why}`, 'controller_refused'));
  }
}
