import { loadDefaultPolicy } from '../../src/policy/default-policy.js';
test('default policy loads', () => {
  expect(loadDefaultPolicy().rules.map((r) => r.name)).toEqual(['mysql', 'postgresql', 'redis', 'mongodb']);
});
