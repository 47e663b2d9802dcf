/**
 * Name and JSON helpers for discovery. They match src/import/ottr.ts's rules but live here because the sync
 * action's bundle must not pull in that module's JSON parser (a UMD package esbuild cannot bundle for ESM).
 */

/** File and folder names: `inventory/<data_center>/<system_name>.yaml` (the device schema's pattern). */
export const FILE_NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** A host platform as this repository writes it: `PAN-OS` → `pan-os`, `Ubuntu` → `ubuntu`. */
export function hostPlatformKey(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');
}

/** An authority name as a settings key: `Let's Encrypt` → `lets_encrypt`. */
export function authorityKeyOf(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/['’]/g, '')
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

export class JsonExportError extends Error {
  override name = 'JsonExportError';
  constructor(
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`${line}:${column}: invalid JSON: ${detail}`);
  }
}

/** JSON.parse with the line and column of a syntax error (from the position V8 reports). */
export function parseJsonText(text: string): unknown {
  const body = text.replace(/^\uFEFF/, '');
  try {
    return JSON.parse(body);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    const at = position ? Number(position[1]) : body.length;
    const before = body.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    throw new JsonExportError(
      line,
      column,
      message.replace(/ in JSON at position \d+.*$/s, '').split('\n')[0]!,
    );
  }
}
