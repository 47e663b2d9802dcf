/** Text made safe for one cell of a Markdown table: no pipes, no line breaks, no HTML. */
export function escapeTableCell(value: string): string {
  return value
    .replace(/\\/g, '\\\\')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/\r\n|\r|\n/g, '<br>')
    .trim();
}

/** A Markdown link to an http(s) URL, or undefined for anything else (no javascript: links in a body). */
export function markdownLink(text: string, url: string | undefined): string | undefined {
  if (!url || !/^https?:\/\//i.test(url)) return undefined;
  const target = url.replace(
    /[()<>\s|]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
  return `[${text}](${target})`;
}

/** An ISO timestamp as `2027-02-21 06:00Z`; anything unparsable is shown as given. */
export function formatExpiry(value: string | undefined): string {
  if (!value) return '—';
  const time = Date.parse(value);
  if (Number.isNaN(time)) return value;
  return `${new Date(time).toISOString().slice(0, 16).replace('T', ' ')}Z`;
}
