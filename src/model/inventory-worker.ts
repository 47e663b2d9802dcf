import { parentPort, workerData } from 'node:worker_threads';
import { type ValidationBatch, validateBatch } from './repository.ts';

// JSON text crosses the thread boundary faster than a structured clone of many small objects.
parentPort!.postMessage(JSON.stringify(validateBatch(workerData as ValidationBatch)));
