import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // The lab's servers (DNS, Route53, Pebble) answer within their clients' timeouts only when test files do
    // not compete for the two cores: Pebble's DNS-01 lookups timed out under parallel files.
    fileParallelism: false,
    // CI also keeps a machine-readable report, from which .ci/run prints its closing "N passed, N failed" line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'tmp/vitest-report.json' },
  },
});
