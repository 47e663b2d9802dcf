// Entry point of actions/sync (bundled into actions/sync/dist/index.mjs by scripts/build-actions.mjs).
import { runAction } from '../inputs.ts';
import { main } from '../sync-action.ts';

runAction(main);
