import { configFromEnv } from '../../src/config.js';

describe('BACKFILL_RATE', () => {
  test('defaults to 20 patches a second', () => {
    expect(configFromEnv({}).backfillRate).toBe(20);
  });
  test.each([['2', 2], ['0.5', 0.5], [' 50 ', 50]])('%j → %s', (value, rate) => {
    expect(configFromEnv({ BACKFILL_RATE: value }).backfillRate).toBe(rate);
  });
  test.each(['0', '-1', 'fast', 'Infinity'])('%j is refused, naming the setting', (value) => {
    expect(() => configFromEnv({ BACKFILL_RATE: value })).toThrow(`BACKFILL_RATE must be a positive number per second, got "${value}"`);
  });
});

describe('holder pod settings', () => {
  test('default to this pod\'s own image, a 60 s start timeout and a 6 h maximum age', () => {
    expect(configFromEnv({})).toMatchObject({ holderImage: undefined, holderStartTimeoutMs: 60_000, holderMaxAgeMs: 6 * 3_600_000 });
    expect(configFromEnv({ HOLDER_IMAGE: '   ' }).holderImage).toBeUndefined();
  });
  test('are read as set', () => {
    expect(configFromEnv({ HOLDER_IMAGE: ' registry.example/wutong-backup:0.2.0 ', HOLDER_START_TIMEOUT: '2m', HOLDER_MAX_AGE: '12h' })).toMatchObject({
      holderImage: 'registry.example/wutong-backup:0.2.0',
      holderStartTimeoutMs: 120_000,
      holderMaxAgeMs: 12 * 3_600_000,
    });
  });
  test.each([
    ['HOLDER_START_TIMEOUT', '0s', 'HOLDER_START_TIMEOUT must be longer than zero, got "0s"'],
    ['HOLDER_START_TIMEOUT', 'soon', 'HOLDER_START_TIMEOUT must be a duration such as 8760h, 365d, 90m or 30s, got "soon"'],
    ['HOLDER_MAX_AGE', '-1s', 'HOLDER_MAX_AGE must be a duration such as 8760h, 365d, 90m or 30s, got "-1s"'],
  ])('%s=%j is refused, naming the setting', (name, value, message) => {
    expect(() => configFromEnv({ [name]: value })).toThrow(message);
  });
});

describe('tenant namespace settings', () => {
  test('default to the labels Wutong puts on a tenant env\'s namespace', () => {
    expect(configFromEnv({}).tenantLabels).toEqual({ selector: 'app.kubernetes.io/managed-by=wutong', tenantName: 'tenant_name', tenantEnvName: 'tenant_env_name' });
  });
  test('are read as set', () => {
    expect(configFromEnv({ TENANT_NAMESPACE_SELECTOR: 'paas=yes', TENANT_NAME_LABEL: 'example.com/tenant', TENANT_ENV_NAME_LABEL: 'example.com/env' }).tenantLabels).toEqual({
      selector: 'paas=yes',
      tenantName: 'example.com/tenant',
      tenantEnvName: 'example.com/env',
    });
  });
  test.each([
    ['TENANT_NAMESPACE_SELECTOR', 'paas in (yes)'],
    ['TENANT_NAME_LABEL', 'tenant name'],
    ['TENANT_ENV_NAME_LABEL', '/env'],
  ])('%s=%j is refused, naming the setting', (name, value) => {
    expect(() => configFromEnv({ [name]: value })).toThrow(new RegExp(`^${name}: `));
  });
});
