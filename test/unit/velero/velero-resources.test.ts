import { VELERO_KINDS, veleroCrdName, veleroPath } from '../../../src/velero/velero-resources.js';

test('paths, kinds and CRD names come from one table', () => {
  expect(veleroPath('velero', 'backups')).toBe('/apis/velero.io/v1/namespaces/velero/backups');
  expect(veleroPath('velero', 'deletebackuprequests', 'b-1')).toBe('/apis/velero.io/v1/namespaces/velero/deletebackuprequests/b-1');
  expect(VELERO_KINDS.podvolumebackups).toBe('PodVolumeBackup');
  expect(veleroCrdName('backupstoragelocations')).toBe('backupstoragelocations.velero.io');
});

test('a name from a URL cannot add path segments or a query', () => {
  expect(veleroPath('velero', 'backups', '../secrets/x?watch=1')).toBe('/apis/velero.io/v1/namespaces/velero/backups/..%2Fsecrets%2Fx%3Fwatch%3D1');
});
