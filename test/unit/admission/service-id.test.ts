import type { Pod } from '../../../src/admission/pod.js';
import { resolveServiceId } from '../../../src/admission/service-id.js';

const pod = (env: Array<{ name: string; value: string }>): Pod => ({ spec: { containers: [{ name: 'app', env }] } });

test('an invalid service id is quoted in the warning only up to 40 characters, so the reason survives truncation', () => {
  const result = resolveServiceId(pod([{ name: 'SERVICE_ID', value: 'x'.repeat(5000) }]), {});
  expect(result.add).toBeUndefined();
  expect(result.warning?.message).toBe(`service_id candidate "${'x'.repeat(40)}…" is not 32 lowercase hex characters; label not set`);
});

test('a valid id from the SERVICE_ID env var is taken as is', () => {
  expect(resolveServiceId(pod([{ name: 'SERVICE_ID', value: '0123456789abcdef0123456789abcdef' }]), {})).toEqual({
    add: '0123456789abcdef0123456789abcdef',
    warning: undefined,
  });
});
