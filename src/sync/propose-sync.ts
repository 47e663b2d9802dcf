/** One synchronisation: candidates from a source, compared with a repository, as checked files and a report. */
import { formatProblemText } from '../model/problems.ts';
import { loadRepository } from '../repository/load.ts';
import { escapeTableCell } from '../util/markdown-escape.ts';
import { inventoryDevices, type ProposedFile, proposedFiles } from './proposed-files.ts';
import { type Candidate, type PlanOptions, planSync, type SyncPlan } from './sync-plan.ts';

export interface SyncProposal {
  source: string;
  plan: SyncPlan;
  files: ProposedFile[];
}

/** Compares `candidates` with the repository at `root`; reads, never writes. */
export async function proposeSync(
  root: string,
  candidates: readonly Candidate[],
  options: PlanOptions,
): Promise<SyncProposal> {
  const repository = await loadRepository(root);
  if (!repository.settings || !repository.routes)
    throw new Error(
      'routing/settings.yaml or routing/routes.yaml is missing or invalid, so proposals cannot be checked (ottr validate shows why)',
    );
  const plan = planSync(candidates, inventoryDevices(repository), options);
  return { source: options.source, plan, files: proposedFiles(repository, plan) };
}

const show = (value: unknown) => (value === undefined ? '(none)' : JSON.stringify(value));

/** The proposal as text for a terminal or a log. */
export function syncReportText(proposal: SyncProposal, written?: readonly string[]): string {
  const { plan, files } = proposal;
  const lines: string[] = [];
  const valid = files.filter((f) => f.valid);
  const section = (title: string, count: number) => {
    if (count > 0) lines.push(`${title} (${count}):`);
    return count > 0;
  };
  if (section('new', valid.filter((f) => f.kind === 'new').length))
    for (const f of valid.filter((f) => f.kind === 'new')) lines.push(`  ${f.file}  ← ${f.ref}`);
  const updates = new Map(plan.updated.map((u) => [u.file, u]));
  if (section('update', valid.filter((f) => f.kind === 'update').length))
    for (const f of valid.filter((f) => f.kind === 'update')) {
      lines.push(`  ${f.file}  ← ${f.ref}`);
      for (const change of updates.get(f.file)?.changes ?? [])
        lines.push(`    ${change.field}: ${show(change.from)} → ${show(change.to)}`);
    }
  if (section('unchanged', plan.unchanged.length))
    for (const u of plan.unchanged) lines.push(`  ${u.file}  ← ${u.ref}`);
  if (section('skipped', plan.skipped.length))
    for (const s of plan.skipped) lines.push(`  ${s.ref}: ${s.reason}`);
  if (section('vanished — listed only, never deleted', plan.vanished.length))
    for (const v of plan.vanished) lines.push(`  ${v.file}: ${v.reason}`);
  const invalid = files.filter((f) => !f.valid);
  if (section('invalid — not written', invalid.length))
    for (const f of invalid) {
      lines.push(`  ${f.file}  ← ${f.ref}`);
      for (const p of f.problems.filter((p) => p.severity === 'error'))
        lines.push(`    ${formatProblemText(p)}`);
    }
  if (lines.length === 0) lines.push('nothing found');
  if (written === undefined) {
    if (valid.length > 0)
      lines.push(
        '',
        'dry run: nothing written (--write writes the proposals, --out DIR writes them elsewhere)',
      );
  } else lines.push('', `wrote ${written.length} file(s)`);
  return `${lines.join('\n')}\n`;
}

/** The proposal as JSON (what --format json prints). */
export function syncReportJson(proposal: SyncProposal, written?: readonly string[]): unknown {
  const { plan, files } = proposal;
  const updates = new Map(plan.updated.map((u) => [u.file, u]));
  return {
    source: proposal.source,
    new: files
      .filter((f) => f.valid && f.kind === 'new')
      .map((f) => ({ file: f.file, ref: f.ref, text: f.text })),
    updated: files
      .filter((f) => f.valid && f.kind === 'update')
      .map((f) => ({ file: f.file, ref: f.ref, changes: updates.get(f.file)?.changes ?? [] })),
    unchanged: plan.unchanged,
    skipped: plan.skipped,
    vanished: plan.vanished,
    invalid: files.filter((f) => !f.valid).map((f) => ({ file: f.file, ref: f.ref, problems: f.problems })),
    ...(written ? { written } : {}),
  };
}

/** Title and body of the onboarding pull request for the proposals written. */
export function onboardingPullRequest(
  proposal: SyncProposal,
  options: { runUrl?: string } = {},
): { title: string; body: string } {
  const { plan, files } = proposal;
  const added = files.filter((f) => f.valid && f.kind === 'new');
  const changed = files.filter((f) => f.valid && f.kind === 'update');
  const parts = [
    added.length > 0 ? `onboard ${added.length} device${added.length === 1 ? '' : 's'}` : '',
    changed.length > 0 ? `update ${changed.length}` : '',
  ].filter(Boolean);
  const title = `ottr: ${parts.join(', ') || 'inventory sync'} (${proposal.source})`;
  const lines = [
    `Discovered by \`ottr sync ${proposal.source === 'aws-ssm' ? 'aws-ssm' : 'file'}\`. Review each device, then merge: the validate workflow checks every file, and \`ottr dns-records\` lists the \`_acme-challenge\` CNAMEs new devices need.`,
    '',
  ];
  if (added.length > 0) {
    lines.push('### New devices', '', '| file | from |', '|---|---|');
    for (const f of added) lines.push(`| \`${f.file}\` | ${escapeTableCell(f.ref)} |`);
    lines.push('');
  }
  const updates = new Map(plan.updated.map((u) => [u.file, u]));
  if (changed.length > 0) {
    lines.push('### Updated devices', '', '| file | field | before | after |', '|---|---|---|---|');
    for (const f of changed)
      for (const c of updates.get(f.file)?.changes ?? [])
        lines.push(
          `| \`${f.file}\` | \`${c.field}\` | ${escapeTableCell(show(c.from))} | ${escapeTableCell(show(c.to))} |`,
        );
    lines.push('');
  }
  if (plan.vanished.length > 0) {
    lines.push('### Vanished (not deleted: decide by hand)', '');
    for (const v of plan.vanished) lines.push(`- \`${v.file}\`: ${escapeTableCell(v.reason)}`);
    lines.push('');
  }
  if (plan.skipped.length > 0) {
    lines.push('<details><summary>Skipped</summary>', '');
    for (const s of plan.skipped) lines.push(`- ${escapeTableCell(s.ref)}: ${escapeTableCell(s.reason)}`);
    lines.push('', '</details>', '');
  }
  const invalid = files.filter((f) => !f.valid);
  if (invalid.length > 0) {
    lines.push('### Not proposed (would not validate)', '');
    for (const f of invalid)
      for (const p of f.problems.filter((p) => p.severity === 'error'))
        lines.push(`- ${escapeTableCell(formatProblemText(p))}`);
    lines.push('');
  }
  if (options.runUrl) lines.push(`Run: ${options.runUrl}`);
  return { title, body: `${lines.join('\n').trimEnd()}\n` };
}
