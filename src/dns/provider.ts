/**
 * What the issuance needs from a DNS provider: add one TXT value at a name and remove it again, leaving values
 * other writers put there untouched. `src/dns/route53.ts` implements it for Route53.
 */
export interface TxtProvider {
  /** Adds `value` to the TXT set at `name` (lowercase, no trailing dot); resolves once the change is in sync. */
  addTxt(name: string, value: string, signal?: AbortSignal): Promise<void>;
  /** Removes only `value`; a value that is not there is not an error. */
  removeTxt(name: string, value: string, signal?: AbortSignal): Promise<void>;
}
