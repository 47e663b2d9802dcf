// Entry point of actions/report (bundled into actions/report/dist/index.mjs by scripts/build-actions.mjs).
import { runAction } from '../inputs.ts';
import { main } from '../report-action.ts';

runAction(main);
