import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as core from '@actions/core';
import { githubClient } from '../github/github-client.ts';
import { type BranchPublishResult, publishBranch } from '../gitops/pull-request.ts';
import {
  awsClientsFor,
  DEFAULT_TAG_PREFIX,
  instanceCandidate,
  listManagedInstances,
  regionFrom,
  ssmPlanOptions,
} from '../sync/aws-ssm.ts';
import { filePlanOptions, formatOf, parseExport, rowCandidate } from '../sync/export-file.ts';
import {
  onboardingPullRequest,
  proposeSync,
  type SyncProposal,
  syncReportText,
} from '../sync/propose-sync.ts';
import { writeProposedFiles } from '../sync/proposed-files.ts';
import type { Candidate, PlanOptions } from '../sync/sync-plan.ts';
import { flag, githubContext, githubToken, list, repositoryDefaultBranch, text } from './inputs.ts';

export const DEFAULT_ONBOARDING_BRANCH = 'ottr/onboarding';

/** The sync action's inputs and the run's context, read once. */
export interface SyncInputs {
  root: string;
  source: 'aws-ssm' | 'file';
  /** aws-ssm */
  region?: string;
  tagPrefix: string;
  /** file: the export and the label value its devices carry */
  file?: string;
  sourceName: string;
  token: string;
  branch: string;
  /** The `base` input, else the event's default branch; absent when neither names it (sync asks the API). */
  defaultBranch?: string;
  labels: string[];
  dryRun: boolean;
  owner: string;
  repo: string;
  apiUrl: string;
  serverUrl: string;
  runUrl?: string;
}

export function syncInputs(env: NodeJS.ProcessEnv): SyncInputs {
  const github = githubContext(env);
  const source = text('source') || 'aws-ssm';
  if (source !== 'aws-ssm' && source !== 'file')
    throw new Error(`input source must be aws-ssm or file, not "${source}"`);
  const file = text('file');
  if (source === 'file' && !file) throw new Error('input file is required with source: file');
  const region = regionFrom(text('region'), env);
  if (source === 'aws-ssm' && !region)
    throw new Error(
      'input region is empty and AWS_REGION is not set (aws-actions/configure-aws-credentials sets it)',
    );
  const dryRun = flag('dry-run');
  const defaultBranch = text('base') || github.eventDefaultBranch;
  return {
    root: text('root') || '.',
    source,
    ...(region ? { region } : {}),
    tagPrefix: text('tag-prefix') || DEFAULT_TAG_PREFIX,
    ...(file ? { file } : {}),
    sourceName: text('source-name') || 'cmdb',
    token: githubToken(dryRun),
    branch: text('branch') || DEFAULT_ONBOARDING_BRANCH,
    ...(defaultBranch ? { defaultBranch } : {}),
    labels: list('labels'),
    dryRun,
    owner: github.owner,
    repo: github.repo,
    apiUrl: github.apiUrl,
    serverUrl: github.serverUrl,
    ...(github.runUrl ? { runUrl: github.runUrl } : {}),
  };
}

/** What the source reports, read once (the proposal is made again on the newest default branch). */
export async function discover(
  inputs: SyncInputs,
  env: NodeJS.ProcessEnv,
): Promise<{ candidates: Candidate[]; options: PlanOptions }> {
  if (inputs.source === 'file') {
    const path = resolve(inputs.file!);
    const candidates = parseExport(readFileSync(path, 'utf8'), formatOf(path)).map(rowCandidate);
    return { candidates, options: filePlanOptions(inputs.sourceName) };
  }
  const client = awsClientsFor(inputs.region!, env);
  try {
    const instances = await listManagedInstances(client);
    const mapping = { tagPrefix: inputs.tagPrefix, region: inputs.region! };
    return {
      candidates: instances.map((i) => instanceCandidate(i, mapping)),
      options: ssmPlanOptions(inputs.region),
    };
  } finally {
    client.destroy();
  }
}

export interface SyncOutcome {
  proposal: SyncProposal;
  pullRequest?: BranchPublishResult;
  summary: string;
}

/**
 * Discovers, then (unless a dry run) rebuilds the onboarding branch on the newest default branch with the
 * proposals made against it and opens, updates or leaves alone its pull request.
 */
export async function sync(inputs: SyncInputs, env: NodeJS.ProcessEnv): Promise<SyncOutcome> {
  const { candidates, options } = await discover(inputs, env);
  let proposal = await proposeSync(inputs.root, candidates, options);
  let pullRequest: BranchPublishResult | undefined;
  if (!inputs.dryRun) {
    const octokit = githubClient(inputs.token, inputs.apiUrl);
    pullRequest = await publishBranch({
      repoDir: inputs.root,
      defaultBranch: await repositoryDefaultBranch(inputs.defaultBranch, octokit, inputs),
      branch: inputs.branch,
      async apply(dir) {
        proposal = await proposeSync(dir, candidates, options);
        return writeProposedFiles(dir, proposal.files);
      },
      commitMessage: () => {
        const { title } = onboardingPullRequest(proposal);
        return `${title}\n\n${proposal.files
          .filter((f) => f.valid)
          .map((f) => `- ${f.file} (${f.ref})`)
          .join('\n')}${inputs.runUrl ? `\n\nRun: ${inputs.runUrl}` : ''}`;
      },
      pullRequest: () => onboardingPullRequest(proposal, inputs.runUrl ? { runUrl: inputs.runUrl } : {}),
      octokit,
      owner: inputs.owner,
      repo: inputs.repo,
      labels: inputs.labels,
      git: { auth: { token: inputs.token, serverUrl: inputs.serverUrl }, onSecret: core.setSecret },
    });
  }
  const lines = ['## Ottr sync', ''];
  if (pullRequest?.url)
    lines.push(`**Pull request:** [#${pullRequest.number}](${pullRequest.url}) (${pullRequest.action})`, '');
  else if (pullRequest) lines.push(`**Pull request:** none (${pullRequest.action}: nothing to propose)`, '');
  else lines.push('Dry run: no branch, no pull request.', '');
  lines.push('```', syncReportText(proposal).trimEnd(), '```');
  return { proposal, ...(pullRequest ? { pullRequest } : {}), summary: `${lines.join('\n')}\n` };
}

export async function main(): Promise<void> {
  const env = process.env;
  const inputs = syncInputs(env);
  const outcome = await sync(inputs, env);
  const { plan, files } = outcome.proposal;
  const valid = files.filter((f) => f.valid);
  core.setOutput('new', String(valid.filter((f) => f.kind === 'new').length));
  core.setOutput('updated', String(valid.filter((f) => f.kind === 'update').length));
  core.setOutput('skipped', String(plan.skipped.length));
  core.setOutput('vanished', String(plan.vanished.length));
  core.setOutput('invalid', String(files.length - valid.length));
  core.setOutput('pull-request-action', outcome.pullRequest?.action ?? 'none');
  core.setOutput('pull-request-number', String(outcome.pullRequest?.number ?? ''));
  core.setOutput('pull-request-url', outcome.pullRequest?.url ?? '');
  for (const f of files.filter((f) => !f.valid))
    for (const p of f.problems.filter((p) => p.severity === 'error'))
      core.warning(`${p.message} (${f.ref}; not proposed)`, { file: p.file, startLine: p.line });
  for (const v of plan.vanished)
    core.warning(`${v.system_name}: ${v.reason} (listed, not deleted)`, { file: v.file });
  await core.summary.addRaw(outcome.summary).write();
  core.info(syncReportText(outcome.proposal));
}
