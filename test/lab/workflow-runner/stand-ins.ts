import { BasicExpressionToken } from '@actions/workflow-parser/templates/tokens/basic-expression-token';
import type { DeclaredInput } from './actions.ts';
import { type ArtifactStore, downloadArtifact, type StandInResult, uploadArtifact } from './artifacts.ts';
import { checkoutRepository } from './checkout.ts';
import { setUpNode } from './setup-node.ts';

/** What a stand-in is given: its resolved inputs and the job it runs in. */
export interface StandInStep {
  inputs: Record<string, string>;
  workspace: string;
  permissions: Record<string, string>;
  artifacts: ArtifactStore;
  lab: StandInLab;
  /** The job's environment so far (GITHUB_REF, GITHUB_SHA, GITHUB_SERVER_URL …). */
  processEnv: Record<string, string>;
}

/** What a stand-in may also do, as its action would: put directories in front of PATH for the later steps. */
export interface StandInOutcome extends StandInResult {
  addPath?: string[];
}

/** What the lab provides the stand-ins with. */
export interface StandInLab {
  /** The bare repository actions/checkout clones (the lab's "origin"). */
  origin: string;
  /**
   * The origin as the GitHub emulator serves it over HTTP (`<emulator>/<owner>/<repo>.git`): checkout fetches from
   * here with the job's token, so the emulator judges the token's `contents` permission, and later pushes from
   * the checkout (the report's, sync's) go the same way. Unset: checkout reads the bare `origin` directly.
   */
  cloneUrl?: string;
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
  run(step: StandInStep): StandInOutcome | Promise<StandInOutcome>;
}

/** `${{ github.token }}`, checkout's default for `token`. */
const GITHUB_TOKEN_EXPRESSION = new BasicExpressionToken(
  undefined,
  undefined,
  'github.token',
  undefined,
  undefined,
  undefined,
);

/** setup-node v4.1.0's `token` default: the job's token on github.com only. */
const SETUP_NODE_TOKEN_EXPRESSION = new BasicExpressionToken(
  undefined,
  undefined,
  "github.server_url == 'https://github.com' && github.token || ''",
  undefined,
  undefined,
  undefined,
);

const inputs = (defaults: Record<string, string>): DeclaredInput[] =>
  Object.entries(defaults).map(([id, value]) => ({ id, default: value }));

/**
 * actions/checkout v4 (its action.yml at v4.2.2, `token` default `${{ github.token }}`): see `checkout.ts`.
 */
const checkout: StandIn = {
  inputs: [
    ...inputs({
      repository: '',
      ref: '',
    }),
    { id: 'token', default: GITHUB_TOKEN_EXPRESSION },
    ...inputs({
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
  ],
  outputs: ['ref', 'commit'],
  run: (step) => checkoutRepository(step),
};

/**
 * actions/setup-node v4.1.0 (its action.yml at 39370e3: inputs always-auth … cache-dependency-path, outputs
 * cache-hit and node-version): see `setup-node.ts`.
 */
const setupNode: StandIn = {
  inputs: [
    ...inputs({
      'always-auth': 'false',
      'node-version': '',
      'node-version-file': '',
      architecture: '',
      'check-latest': 'false',
      'registry-url': '',
      scope: '',
    }),
    { id: 'token', default: SETUP_NODE_TOKEN_EXPRESSION },
    ...inputs({ cache: '', 'cache-dependency-path': '' }),
  ],
  outputs: ['cache-hit', 'node-version'],
  run: (step) => setUpNode(step),
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
  'actions/setup-node': setupNode,
  'actions/upload-artifact': uploadArtifactV4,
  'actions/download-artifact': downloadArtifactV4,
  'aws-actions/configure-aws-credentials': configureAwsCredentials,
  'actions/create-github-app-token': createGitHubAppToken,
};

/** The stand-in for a remote `uses:` (`owner/repo@ref`), or undefined when the lab has none. */
export function standInFor(uses: string): StandIn | undefined {
  return STAND_INS[uses.split('@')[0]!.toLowerCase()];
}
