import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DeclaredInput } from './actions.ts';
import { type ArtifactStore, downloadArtifact, type StandInResult, uploadArtifact } from './artifacts.ts';

/** What a stand-in is given: its resolved inputs and the job it runs in. */
export interface StandInStep {
  inputs: Record<string, string>;
  workspace: string;
  permissions: Record<string, string>;
  artifacts: ArtifactStore;
  lab: StandInLab;
}

/** What the lab provides the stand-ins with. */
export interface StandInLab {
  /** The bare repository actions/checkout clones (the lab's "origin"). */
  origin: string;
  /** What configure-aws-credentials exports after assuming the role (the lab's AWS emulators' keys). */
  awsCredentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** The installation token create-github-app-token returns. */
  appToken: string;
}

export interface StandIn {
  /** Inputs of the pinned version's action.yml (the lab refuses any other `with:` key). */
  inputs: DeclaredInput[];
  /** Outputs of the pinned version's action.yml (what `steps.<id>.outputs` may name). */
  outputs: string[];
  run(step: StandInStep): StandInResult;
}

const inputs = (defaults: Record<string, string>): DeclaredInput[] =>
  Object.entries(defaults).map(([id, value]) => ({ id, default: value }));

/**
 * actions/checkout v4 (its action.yml at v4.2.2): a clone of the lab's origin into `path` (default the workspace);
 * `fetch-depth: 0` fetches every branch, any other depth only `ref` (default the default branch), that deep.
 */
const checkout: StandIn = {
  inputs: inputs({
    repository: '',
    ref: '',
    token: '',
    'ssh-key': '',
    'ssh-known-hosts': '',
    'ssh-strict': 'true',
    'ssh-user': 'git',
    'persist-credentials': 'true',
    path: '',
    clean: 'true',
    filter: '',
    'sparse-checkout': '',
    'sparse-checkout-cone-mode': 'true',
    'fetch-depth': '1',
    'fetch-tags': 'false',
    'show-progress': 'true',
    lfs: 'false',
    submodules: 'false',
    'set-safe-directory': 'true',
    'github-server-url': '',
  }),
  outputs: ['ref', 'commit'],
  run({ inputs, workspace, lab }) {
    const into = resolve(workspace, inputs.path || '.');
    mkdirSync(into, { recursive: true });
    if (readdirSync(into).length > 0) return { ok: false, message: `checkout: ${into} is not empty` };
    const depth = Number(inputs['fetch-depth'] || '1');
    const args =
      depth === 0
        ? ['clone', '--quiet', '--no-single-branch', lab.origin, into]
        : ['clone', '--quiet', '--depth', String(depth), `file://${lab.origin}`, into];
    if (depth !== 0 && inputs.ref) args.splice(2, 0, '--branch', inputs.ref);
    execFileSync('git', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    return { ok: true };
  },
};

/**
 * aws-actions/configure-aws-credentials v4: `role-to-assume` without access keys is OIDC, which needs the job's
 * `id-token: write` (without it the runner gives no ACTIONS_ID_TOKEN_REQUEST_URL and core.getIDToken fails,
 * actions/toolkit packages/core/src/oidc-utils.ts); it exports the session for later steps, and the region.
 */
const configureAwsCredentials: StandIn = {
  inputs: inputs({
    'aws-region': '',
    'role-to-assume': '',
    'aws-access-key-id': '',
    'aws-secret-access-key': '',
    'aws-session-token': '',
    'web-identity-token-file': '',
    'role-chaining': 'false',
    audience: 'sts.amazonaws.com',
    'http-proxy': '',
    'mask-aws-account-id': 'false',
    'role-duration-seconds': '',
    'role-external-id': '',
    'role-session-name': 'GitHubActions',
    'role-skip-session-tagging': 'false',
    'inline-session-policy': '',
    'managed-session-policies': '',
    'output-credentials': 'false',
    'unset-current-credentials': 'false',
    'disable-retry': 'false',
    'retry-max-attempts': '12',
    'special-characters-workaround': 'false',
  }),
  outputs: [
    'aws-account-id',
    'aws-access-key-id',
    'aws-secret-access-key',
    'aws-session-token',
    'aws-expiration',
  ],
  run({ inputs, permissions, lab }) {
    if (!inputs['aws-region']) return { ok: false, message: 'Input required and not supplied: aws-region' };
    if (!inputs['role-to-assume'] && !inputs['aws-access-key-id'])
      return { ok: false, message: 'Credentials could not be loaded, please check your action inputs' };
    if (!inputs['aws-access-key-id'] && permissions['id-token'] !== 'write')
      return {
        ok: false,
        message: 'Could not get ID token: Unable to get ACTIONS_ID_TOKEN_REQUEST_URL env variable',
      };
    const { accessKeyId, secretAccessKey, sessionToken } = lab.awsCredentials;
    return {
      ok: true,
      exportEnv: {
        AWS_REGION: inputs['aws-region'],
        AWS_DEFAULT_REGION: inputs['aws-region'],
        AWS_ACCESS_KEY_ID: accessKeyId,
        AWS_SECRET_ACCESS_KEY: secretAccessKey,
        ...(sessionToken ? { AWS_SESSION_TOKEN: sessionToken } : {}),
      },
    };
  },
};

/** actions/create-github-app-token v2: an installation token for `app-id` and `private-key` (outputs token, …). */
const createGitHubAppToken: StandIn = {
  inputs: inputs({
    'app-id': '',
    'private-key': '',
    owner: '',
    repositories: '',
    'skip-token-revoke': 'false',
    'github-api-url': '',
  }),
  outputs: ['token', 'installation-id', 'app-slug'],
  run({ inputs, lab }) {
    if (!inputs['app-id'] || !inputs['private-key'])
      return { ok: false, message: "Input required and not supplied: 'app-id' and 'private-key'" };
    return {
      ok: true,
      outputs: { token: lab.appToken, 'installation-id': '1', 'app-slug': 'ottr-lab' },
    };
  },
};

const uploadArtifactV4: StandIn = {
  inputs: inputs({
    name: 'artifact',
    path: '',
    'if-no-files-found': 'warn',
    'retention-days': '0',
    'compression-level': '6',
    overwrite: 'false',
    'include-hidden-files': 'false',
  }),
  outputs: ['artifact-id', 'artifact-url', 'artifact-digest'],
  run: (step) => uploadArtifact(step.artifacts, step.workspace, step.inputs),
};

const downloadArtifactV4: StandIn = {
  inputs: inputs({
    name: '',
    path: '',
    pattern: '',
    'merge-multiple': 'false',
    'github-token': '',
    repository: '',
    'run-id': '',
  }),
  outputs: ['download-path'],
  run: (step) => downloadArtifact(step.artifacts, step.workspace, step.inputs),
};

/** Stand-ins by action name (`owner/repo` of `uses:`, whatever the pinned ref). */
export const STAND_INS: Record<string, StandIn> = {
  'actions/checkout': checkout,
  'actions/upload-artifact': uploadArtifactV4,
  'actions/download-artifact': downloadArtifactV4,
  'aws-actions/configure-aws-credentials': configureAwsCredentials,
  'actions/create-github-app-token': createGitHubAppToken,
};

/** The stand-in for a remote `uses:` (`owner/repo@ref`), or undefined when the lab has none. */
export function standInFor(uses: string): StandIn | undefined {
  return STAND_INS[uses.split('@')[0]!.toLowerCase()];
}
