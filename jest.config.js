// Jest runs the TypeScript sources as native ES modules (the project and
// @kubernetes/client-node >= 1.0 are ESM), transformed by SWC for speed.
// Unit and HTTPS integration tests need nothing; the e2e project provisions a
// real kube-apiserver in its globalSetup (skip explicitly with E2E=0).
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } }];
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};
const e2e = process.env.E2E !== '0';

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    ...(e2e
      ? [
          {
            ...common,
            displayName: 'e2e',
            testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
            globalSetup: '<rootDir>/dist/test/e2e/global-setup.js',
            globalTeardown: '<rootDir>/dist/test/e2e/global-teardown.js',
          },
        ]
      : []),
  ],
};
