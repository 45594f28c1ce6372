import { configFromEnv } from '../../../src/config.js';
import { keepsTlsSecret, rolesFromEnv } from '../../../src/roles/role.js';

test('ROLE: every role by default and for "all" (npm start runs them in one process)', () => {
  for (const value of [undefined, '', 'all', ' all ']) expect([...rolesFromEnv(value)].sort()).toEqual(['api', 'controller', 'webhook']);
  expect([...configFromEnv({}).roles].sort()).toEqual(['api', 'controller', 'webhook']);
});

test('ROLE: one role per Deployment, or a list', () => {
  expect([...rolesFromEnv('webhook')]).toEqual(['webhook']);
  expect([...rolesFromEnv('api, controller')].sort()).toEqual(['api', 'controller']);
  expect([...configFromEnv({ ROLE: 'controller' }).roles]).toEqual(['controller']);
});

test.each(['webhooks', 'all,api', 'api,', 'API'])('ROLE=%j is refused, naming the setting and what it accepts', (value) => {
  expect(() => configFromEnv({ ROLE: value })).toThrow(`ROLE must be "all" or a comma-separated list of webhook, api, controller, got "${value}"`);
});

test('TLS_SOURCE=self: only a process of the controller role keeps the Secret and caBundle; webhook and api only read it', () => {
  for (const value of ['all', 'controller', 'webhook,controller', 'api,controller']) expect(keepsTlsSecret(rolesFromEnv(value))).toBe(true);
  for (const value of ['webhook', 'api', 'webhook,api']) expect(keepsTlsSecret(rolesFromEnv(value))).toBe(false);
});
