#!/usr/bin/env node
// Runs the compiled CLI in dist/cli/ (committed; `npm run build:cli` rebuilds it from src/cli/).
import { main } from '../dist/cli/main.mjs';

process.exitCode = await main(process.argv.slice(2));
