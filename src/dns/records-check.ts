import type { Resolver } from 'node:dns/promises';
import { isAbsentAnswer } from './cname-check.ts';
import type { NeededRecord } from './records.ts';

export type RecordState = 'in_place' | 'missing' | 'wrong' | 'unchecked';

export interface CheckedRecord extends NeededRecord {
  state: RecordState;
  /** What the name is now a CNAME to (state `wrong`). */
  found?: string;
  /** Why the answer could not be had (state `unchecked`: a resolver code such as ETIMEOUT or EREFUSED). */
  error?: string;
}

const CONCURRENCY = 16;

async function checkOne(record: NeededRecord, resolver: Resolver): Promise<CheckedRecord> {
  try {
    const answers = await resolver.resolveCname(record.name);
    const found = answers[0]?.toLowerCase().replace(/\.$/, '');
    if (found === record.target) return { ...record, state: 'in_place' };
    return { ...record, state: 'wrong', ...(found ? { found } : {}) };
  } catch (error) {
    if (isAbsentAnswer(error)) return { ...record, state: 'missing' };
    const code = (error as { code?: string }).code ?? (error as Error).message;
    return { ...record, state: 'unchecked', error: code };
  }
}

/**
 * Asks `resolver` for every `_acme-challenge` CNAME the inventory needs and says, for each, whether it is in
 * place, missing, pointing elsewhere, or could not be checked. At most 16 questions are in flight at once.
 */
export async function checkNeededRecords(
  records: readonly NeededRecord[],
  resolver: Resolver,
): Promise<CheckedRecord[]> {
  const results: CheckedRecord[] = new Array(records.length);
  let next = 0;
  const worker = async () => {
    while (next < records.length) {
      const index = next++;
      results[index] = await checkOne(records[index]!, resolver);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, records.length) }, worker));
  return results;
}

/** `ip`, `ip:port`, `[v6]:port` or a bare IPv6 address: what c-ares's setServers takes. */
export function isResolverAddress(value: string): boolean {
  const v4 = /^(\d{1,3})(\.\d{1,3}){3}(:\d{1,5})?$/;
  const v6port = /^\[[0-9a-f:.]+\](:\d{1,5})?$/i;
  const v6 = /^[0-9a-f]*:[0-9a-f:.]+$/i;
  return v4.test(value) || v6port.test(value) || v6.test(value);
}
