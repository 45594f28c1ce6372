import { conflict, unavailable } from '../api-error.js';
import type { Component } from '../../components/component.js';
import { buildDownloadRequest } from '../../velero/download-request.js';
import { downloadRequestName } from '../../velero/object-names.js';
import { viewDownloadRequest } from '../../velero/velero-views.js';
import type { BackupApiDeps } from './backup-api-deps.js';
import { ownBackup } from './backups.js';
import { requireVelero } from './component-context.js';
import { createNamed } from './create-named.js';

export interface DownloadLink {
  download_url: string;
  expires_at: string;
}

/**
 * GET …/backup/{id}/download: a DownloadRequest, answered by Velero with a
 * pre-signed URL of the backup's contents, the way Velero's own CLI
 * downloads. Object-storage credentials and repository passwords stay in
 * Velero (the region API reads both into its own process).
 */
export async function downloadBackup(deps: BackupApiDeps, component: Component, backupId: string): Promise<DownloadLink> {
  requireVelero(deps);
  const backup = await ownBackup(deps, component.key, backupId);
  if (backup.status.phase !== 'Completed') throw conflict(`backup ${backupId} is ${backup.status.phase || 'New'}, not Completed: nothing to download yet`, 'backup_not_completed');
  const created = await createNamed(deps, (random) =>
    buildDownloadRequest({ name: downloadRequestName(backupId, random), veleroNamespace: deps.settings.veleroNamespace, backupName: backupId }),
  );
  const name = viewDownloadRequest(created)?.metadata.name ?? '';
  const deadline = Date.now() + deps.settings.downloadTimeoutMs;
  try {
    for (;;) {
      const request = viewDownloadRequest(await deps.store.get('downloadrequests', name));
      if (request?.status.downloadURL) return { download_url: request.status.downloadURL, expires_at: request.status.expiration ?? '' };
      if (Date.now() + deps.settings.downloadPollMs > deadline) {
        throw unavailable(`Velero did not answer DownloadRequest ${deps.settings.veleroNamespace}/${name} within ${deps.settings.downloadTimeoutMs} ms: is the Velero server running?`, 'download_timeout');
      }
      await new Promise((resolve) => setTimeout(resolve, deps.settings.downloadPollMs));
    }
  } finally {
    // The URL is in hand (or never will be): the request object has served
    // its purpose. Velero would delete it once expired anyway.
    deps.store.remove('downloadrequests', name).catch((err: unknown) => deps.log.debug({ name, err: (err as Error).message }, 'deleting a DownloadRequest failed; Velero removes it once expired'));
  }
}
