import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // Lab tests run real servers (Pebble, DNS, Route53) with timeouts of their own; one file at a time keeps
    // them from competing for the machine's two cores.
    fileParallelism: false,
    // CI also keeps a machine-readable report, from which .ci/run prints its closing "N passed, N failed" line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'tmp/vitest-report.json' },
    // GitHub's workflow parser imports its JSON schema without an import attribute, which Node refuses;
    // letting Vite transform the package makes the import work.
    server: { deps: { inline: ['@actions/workflow-parser', '@actions/expressions'] } },
  },
});
