// Entry point of actions/plan (bundled into actions/plan/dist/index.mjs by scripts/build-actions.mjs).
import { runAction } from '../inputs.ts';
import { main } from '../plan-action.ts';

runAction(main);
