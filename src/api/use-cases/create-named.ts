import type { VeleroObject } from '../../velero/velero-resources.js';
import type { BackupApiDeps } from './backup-api-deps.js';
import { AlreadyExists } from '../../velero/velero-ports.js';

/**
 * Creates the object `build` makes, with a fresh random suffix if the name
 * is taken (two creates in the same second on two replicas: 1 in 65,536).
 */
export async function createNamed(deps: BackupApiDeps, build: (random: string) => VeleroObject): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await deps.store.create(build(deps.random()));
    } catch (err) {
      if (!(err instanceof AlreadyExists) || attempt >= 3) throw err;
    }
  }
}
