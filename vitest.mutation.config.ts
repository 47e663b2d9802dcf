import { defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

// `npm run mutation` runs each module against only the test files that cover it. It names them here, through the
// environment, rather than with Stryker's `testFiles`: with `testFiles` Stryker 10 activates a module-level
// ("static") mutant only after the module has loaded, so every such mutant survives whatever the tests assert
// (stryker-js issues #6144 and #6209). Without it, static mutants get a fresh test environment as documented.
const include = (process.env.OTTR_MUTATION_TESTS ?? '').split(',').filter(Boolean);
if (include.length === 0) throw new Error('vitest.mutation.config.ts is for scripts/mutation.mjs only');

export default defineConfig({ ...base, test: { ...base.test, include } });
