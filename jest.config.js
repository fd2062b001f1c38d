/** ESM TypeScript through ts-jest; subpath imports mapped like package.json's "imports". */
export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: {
    '^#core/(.*)\\.js$': '<rootDir>/functions/core/$1',
    '^#adapters/(.*)\\.js$': '<rootDir>/functions/adapters/$1',
    '^#http/(.*)\\.js$': '<rootDir>/functions/http/$1',
    '^#local/(.*)\\.js$': '<rootDir>/local/$1',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }] },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30000,
  // Most suites wait on DynamoDB Local, the emulator or Chromium rather than compute, so more workers
  // than cores pays: on a 2-core machine the whole run took 166 s with 3 workers against 319 s with
  // jest's default (cores - 1 = 1), same 1,715 tests green. A fixed 3: many more workers than that
  // overran the hooks' timeouts on 2 cores.
  maxWorkers: 3,
};
