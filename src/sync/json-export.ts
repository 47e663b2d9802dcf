/**
 * JSON parsing for discovery exports. src/import/ottr.ts has its own (jsonc-parser, with positions for comments
 * too), but the sync action's bundle must not pull in that UMD package, which esbuild cannot bundle for ESM.
 */

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
