/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  testTimeout: 120000,
  // Tests import the examples as users write them (`from 'recurrentgemma'`): map the package name to
  // this repository's sources (tsconfig.test.json's `paths` does the same for the type checker).
  moduleNameMapper: { '^recurrentgemma$': '<rootDir>/lib/index.ts' },
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
};
