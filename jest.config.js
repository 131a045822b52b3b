/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // Integration suites open real sockets; two workers match the 2-core machine.
  maxWorkers: 2,
  testTimeout: 30000,
  // Tracks timers created by src/ for the leak checks (test/support/resources.ts).
  setupFiles: ['<rootDir>/test/support/timer-tracker.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }],
  },
};
