import type { Problem } from './problems.ts';
import { fieldPath } from './problems.ts';
import type { Position } from './yaml-source.ts';

/** A problem before it has a position: checks produce these, the loader places them in the file. */
export interface Finding {
  severity: 'error' | 'warning';
  path: (string | number)[];
  message: string;
  /** Point at the key (default) or at the value. */
  at?: 'key' | 'value';
}

export interface Locator {
  locate(path: readonly (string | number)[], target?: 'key' | 'value'): Position;
}

export function placeFindings(file: string, locator: Locator, findings: readonly Finding[]): Problem[] {
  return findings.map((f) => {
    const { line, column } = locator.locate(f.path, f.at ?? 'key');
    return { severity: f.severity, file, line, column, field: fieldPath(f.path), message: f.message };
  });
}

export function error(path: (string | number)[], message: string, at?: 'key' | 'value'): Finding {
  return at ? { severity: 'error', path, message, at } : { severity: 'error', path, message };
}

export function warning(path: (string | number)[], message: string): Finding {
  return { severity: 'warning', path, message };
}
