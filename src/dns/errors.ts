/** A DNS step failed; `code` says how, the message says where (never with credentials). */
export class DnsError extends Error {
  override name = 'DnsError';
  constructor(
    readonly code: 'throttled' | 'conflict' | 'timeout' | 'denied' | 'not_found' | 'failed',
    message: string,
  ) {
    super(message);
  }
}
