import type { RotationResult } from '../model/results.ts';
import { escapeTableCell } from '../util/markdown-escape.ts';

/** The job summary of a rotate step: one row per device. */
export function rotationSummary(results: readonly RotationResult[]): string {
  const rows = results.map((r) => {
    const what = r.certificate
      ? `serial \`${r.certificate.serial}\`, expires ${r.certificate.not_after}`
      : r.error
        ? `${r.error.phase}: ${r.error.class} — ${r.error.message}`
        : '';
    const rollback = r.rollback ? ` (rollback: ${r.rollback.message})` : '';
    const ms = r.phases.reduce((sum, p) => sum + p.ms, 0);
    return `| \`${r.system_name}\` | ${r.status} | ${escapeTableCell(what + rollback)} | ${(ms / 1000).toFixed(1)} s |`;
  });
  return `### Rotation\n\n| Device | Status | Details | Time |\n|---|---|---|---|\n${rows.join('\n')}\n\n`;
}
