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
  test('default to this pod\'s own image, a 60 s start timeout and a 6 h maximum age; answered at-rest requests kept 10 min', () => {
    expect(configFromEnv({})).toMatchObject({ holderImage: undefined, holderStartTimeoutMs: 60_000, holderMaxAgeMs: 6 * 3_600_000, atRestRequestKeepMs: 600_000 });
    expect(configFromEnv({ HOLDER_IMAGE: '   ' }).holderImage).toBeUndefined();
  });
  test('are read as set', () => {
    expect(configFromEnv({ HOLDER_IMAGE: ' registry.example/wutong-backup:0.2.0 ', HOLDER_START_TIMEOUT: '2m', HOLDER_MAX_AGE: '12h', AT_REST_REQUEST_KEEP: '2s' })).toMatchObject({
      holderImage: 'registry.example/wutong-backup:0.2.0',
      holderStartTimeoutMs: 120_000,
      holderMaxAgeMs: 12 * 3_600_000,
      atRestRequestKeepMs: 2_000,
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

describe('authentication settings', () => {
  test('defaults: no token audiences, the wutong-backup-client: prefix for certificate users and groups, 20 failures per 10 s, metrics authenticated', () => {
    expect(configFromEnv({})).toMatchObject({
      apiTokenAudiences: [],
      apiClientCertUserPrefix: 'wutong-backup-client:',
      apiClientCertGroupPrefix: 'wutong-backup-client:',
      authFailureLimit: 20,
      authFailureWindowMs: 10_000,
      metricsAuth: true,
    });
  });
  test('API_TOKEN_AUDIENCES is comma-separated; blanks and repeats are dropped', () => {
    expect(configFromEnv({ API_TOKEN_AUDIENCES: ' wutong-backup , https://wutong-backup-api.wutong-backup.svc,,wutong-backup ' }).apiTokenAudiences).toEqual([
      'wutong-backup',
      'https://wutong-backup-api.wutong-backup.svc',
    ]);
    expect(configFromEnv({ API_TOKEN_AUDIENCES: '' }).apiTokenAudiences).toEqual([]);
  });
  test('a certificate prefix set to "" explicitly is empty; each prefix is its own setting', () => {
    expect(configFromEnv({ API_CLIENT_CERT_USER_PREFIX: '' })).toMatchObject({ apiClientCertUserPrefix: '', apiClientCertGroupPrefix: 'wutong-backup-client:' });
    expect(configFromEnv({ API_CLIENT_CERT_USER_PREFIX: 'cert:', API_CLIENT_CERT_GROUP_PREFIX: 'cert-group:' })).toMatchObject({ apiClientCertUserPrefix: 'cert:', apiClientCertGroupPrefix: 'cert-group:' });
  });
  test.each(['API_CLIENT_CERT_USER_PREFIX', 'API_CLIENT_CERT_GROUP_PREFIX'])('%s starting with system: is refused, naming the setting', (name) => {
    expect(() => configFromEnv({ [name]: 'system:certs:' })).toThrow(`${name} must not start with "system:" (a client certificate may never name a system: user or group), got "system:certs:"`);
  });
  test('AUTH_FAILURE_LIMIT and AUTH_FAILURE_WINDOW are read as set; 0 turns the limit off', () => {
    expect(configFromEnv({ AUTH_FAILURE_LIMIT: '5', AUTH_FAILURE_WINDOW: '1m' })).toMatchObject({ authFailureLimit: 5, authFailureWindowMs: 60_000 });
    expect(configFromEnv({ AUTH_FAILURE_LIMIT: '0' }).authFailureLimit).toBe(0);
  });
  test.each([
    ['AUTH_FAILURE_LIMIT', '-1', 'AUTH_FAILURE_LIMIT must be a whole number, 0 or more, got "-1"'],
    ['AUTH_FAILURE_LIMIT', 'many', 'AUTH_FAILURE_LIMIT must be a whole number, 0 or more, got "many"'],
    ['AUTH_FAILURE_WINDOW', '0s', 'AUTH_FAILURE_WINDOW must be longer than zero, got "0s"'],
    ['METRICS_AUTH', 'yes', 'METRICS_AUTH must be true or false, got "yes"'],
  ])('%s=%j is refused, naming the setting', (name, value, message) => {
    expect(() => configFromEnv({ [name]: value })).toThrow(message);
  });
  test('METRICS_AUTH=false turns metrics authentication off', () => {
    expect(configFromEnv({ METRICS_AUTH: 'false' }).metricsAuth).toBe(false);
    expect(configFromEnv({ METRICS_AUTH: 'TRUE' }).metricsAuth).toBe(true);
  });
});

describe('body read deadlines', () => {
  test('default to 10 s for the backup API and 4 s for admission (below the webhook timeoutSeconds of 5)', () => {
    expect(configFromEnv({})).toMatchObject({ bodyReadTimeoutMs: 10_000, admissionBodyReadTimeoutMs: 4_000 });
  });
  test('are read as set', () => {
    expect(configFromEnv({ BODY_READ_TIMEOUT: '30s', ADMISSION_BODY_READ_TIMEOUT: '2500ms' })).toMatchObject({ bodyReadTimeoutMs: 30_000, admissionBodyReadTimeoutMs: 2_500 });
  });
  test.each([
    ['ADMISSION_BODY_READ_TIMEOUT', '30s', `ADMISSION_BODY_READ_TIMEOUT must be shorter than 30s (the API server's longest webhook timeout; keep it below the webhook's timeoutSeconds), got "30s"`],
    ['ADMISSION_BODY_READ_TIMEOUT', '0', 'ADMISSION_BODY_READ_TIMEOUT must be a duration such as 8760h, 365d, 90m or 30s, got "0"'],
    ['BODY_READ_TIMEOUT', 'slow', 'BODY_READ_TIMEOUT must be a duration such as 8760h, 365d, 90m or 30s, got "slow"'],
  ])('%s=%j is refused, naming the setting', (name, value, message) => {
    expect(() => configFromEnv({ [name]: value })).toThrow(message);
  });
});
