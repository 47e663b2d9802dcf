// Worker threads do not inherit the main thread's tsx loader: register it before loading the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./inventory-worker.ts');
