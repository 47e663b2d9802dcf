// Entry point of actions/rotate (bundled into actions/rotate/dist/index.mjs by scripts/build-actions.mjs).
import { runAction } from '../inputs.ts';
import { main } from '../rotate-action.ts';

runAction(main);
