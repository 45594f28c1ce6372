import { runMarkPatches } from '../../../src/controller/run-mark-loop.js';
import { ComponentRegistry } from '../../../src/components/component-registry.js';
import { componentKey } from '../../../src/components/component-key.js';
import { tenantDirectory } from '../tenancy/tenant-fixtures.js';
import { claimSummary, podRecord, workloadSummary } from '../components/summaries.js';

const SID = 'b'.repeat(32);
const labels = { creator: 'Wutong', service_id: SID, service_alias: 'gr1', tenant_name: 't', tenant_env_name: 'e' };
const NOW = new Date('2026-12-02T08:00:00.000Z');
const at = { namespace: 't-e', labels };

describe('run-mark patches', () => {
  test('every PVC of a running component is marked running, each with its own resourceVersion', () => {
    const registry = new ComponentRegistry(tenantDirectory({ 't-e': ['t', 'e'] }));
    registry.upsert(workloadSummary({ ...at, name: 'gr1', uid: 'w' }));
    registry.upsert(claimSummary({ ...at, name: 'data-0', uid: 'c0', resourceVersion: '11' }));
    registry.upsert(claimSummary({ ...at, name: 'data-1', uid: 'c1', resourceVersion: '12', annotations: { 'backup.wutong.io/ran-until': 'running' } }));
    registry.upsert(podRecord({ ...at, name: 'gr1-0', uid: 'p' }));
    const component = registry.get(componentKey('t-e', SID));
    expect(component?.state).toBe('running');
    expect(runMarkPatches(component!, NOW)).toEqual([{ namespace: 't-e', name: 'data-0', resourceVersion: '11', value: 'running' }]);
  });

  test('once Wutong has stopped it, each PVC still marked running gets the time of the stop', () => {
    const registry = new ComponentRegistry(tenantDirectory({ 't-e': ['t', 'e'] }));
    registry.upsert(claimSummary({ ...at, name: 'data-0', uid: 'c0', resourceVersion: '21', annotations: { 'backup.wutong.io/ran-until': 'running' } }));
    registry.upsert(claimSummary({ ...at, name: 'data-1', uid: 'c1', resourceVersion: '22', annotations: { 'backup.wutong.io/ran-until': '2026-12-02T07:00:00.000Z' } }));
    const component = registry.get(componentKey('t-e', SID));
    expect(component?.state).toBe('stopped');
    expect(runMarkPatches(component!, NOW)).toEqual([{ namespace: 't-e', name: 'data-0', resourceVersion: '21', value: NOW.toISOString() }]);
  });
});
