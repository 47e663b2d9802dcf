import { execFileSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { installBranchProtection } from './branch-protection.ts';
import { basicAuthToken, GIT_PATH, serveGit } from './git-http.ts';
import { installWorkflowPushGuard } from './workflow-guard.ts';

const DOCS = 'https://docs.github.com/rest';
const BOT = { login: 'ottr-lab[bot]', id: 1, type: 'Bot' };
/** Who a token acts as when `logins` does not name it: the workflow's GITHUB_TOKEN. */
export const DEFAULT_TOKEN_LOGIN = 'github-actions[bot]';

export interface EmulatedIssue {
  repo: string;
  number: number;
  node_id: string;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  state_reason: string | null;
  labels: string[];
  comments: number;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface EmulatedPull extends EmulatedIssue {
  head: string;
  base: string;
  draft: boolean;
  auto_merge: { merge_method: string } | null;
}

export interface EmulatedComment {
  repo: string;
  id: number;
  issue_number: number;
  body: string;
  created_at: string;
}

export interface EmulatedRepo {
  owner: string;
  name: string;
  /** When set, pull requests are checked against the branches of this (bare) git repository. */
  gitDir?: string;
  autoMergeAllowed: boolean;
  /**
   * Settings → Actions → General → "Allow GitHub Actions to create and approve pull requests". When false the
   * workflow's GITHUB_TOKEN (DEFAULT_TOKEN_LOGIN) gets 403 on POST /pulls (see BEHAVIOUR.md).
   */
  actionsCanCreatePullRequests: boolean;
  /** Settings → Features → Issues. When false every issue endpoint answers 410 "Issues are disabled for this repo". */
  hasIssues: boolean;
  /** The repository's default branch, as `GET /repos/{owner}/{repo}` reports it in `default_branch`. */
  defaultBranch: string;
  /** Labels by lower-cased name (GitHub's label names are unique regardless of case). */
  labels: Map<string, EmulatedLabel>;
  nextNumber: number;
}

export interface EmulatedLabel {
  name: string;
  color: string;
  description: string | null;
}

/** A GitHub App / GITHUB_TOKEN permission (the `permissions:` keys of a workflow job). */
export type PermissionScope =
  | 'actions'
  | 'checks'
  | 'contents'
  | 'deployments'
  | 'id-token'
  | 'issues'
  | 'metadata'
  | 'pull-requests'
  | 'statuses'
  | 'workflows';
export type PermissionLevel = 'read' | 'write' | 'none';
export type TokenPermissions = Partial<Record<PermissionScope, PermissionLevel>>;

/** A commit status (GitHub's `status` schema), as created through POST /repos/{owner}/{repo}/statuses/{sha}. */
export interface EmulatedStatus {
  repo: string;
  sha: string;
  id: number;
  state: 'error' | 'failure' | 'pending' | 'success';
  context: string;
  description: string | null;
  target_url: string | null;
  /** The login of the token that created it. */
  creator: string;
  created_at: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
}

interface Fault {
  status: number;
  method?: string;
  path?: RegExp;
  times: number;
  body?: Record<string, unknown>;
  headers?: Record<string, string>;
}

const PERMISSIONS_DOCS = 'https://docs.github.com/rest/overview/permissions-required-for-github-apps';

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.message));
  }
}

const notFound = () => new HttpError(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
const validationFailed = (errors: Record<string, unknown>[]) =>
  new HttpError(422, { message: 'Validation Failed', errors, documentation_url: DOCS, status: '422' });

/**
 * The subset of GitHub's REST API (and one GraphQL mutation) that pull request publishing, issue notifications
 * and the rotations branch's commit statuses use, with GitHub's response and error shapes, pagination by Link
 * header and state kept in public arrays for assertions. Every request needs an `authorization` header, as with
 * the real API. A token acts as the login `logins` maps it to (DEFAULT_TOKEN_LOGIN, the workflow's
 * GITHUB_TOKEN, otherwise): that login is the `creator` of the statuses it creates.
 */
export class GitHubEmulator {
  private server: Server | undefined;
  port = 0;
  readonly repos = new Map<string, EmulatedRepo>();
  readonly issues: EmulatedIssue[] = [];
  readonly pulls: EmulatedPull[] = [];
  readonly comments: EmulatedComment[] = [];
  readonly requests: RecordedRequest[] = [];
  /** repository_dispatch events received. */
  readonly dispatches: { repo: string; event_type: string; client_payload: unknown }[] = [];
  /** When non-empty, only these tokens are accepted (401 "Bad credentials" otherwise). */
  readonly tokens = new Set<string>();
  /** Who each token acts as (a status's `creator`); a token not named here is DEFAULT_TOKEN_LOGIN. */
  readonly logins = new Map<string, string>();
  /** Commit statuses, oldest first. */
  readonly statuses: EmulatedStatus[] = [];
  /**
   * The permissions of each token (a job's `permissions:` or an App installation's). A token not named here may
   * do everything, so tests that do not care stay as they were; a named one gets 403 "Resource not accessible by
   * integration" for any call its permissions do not cover. `metadata: read` is always granted, as on GitHub.
   */
  readonly permissions = new Map<string, TokenPermissions>();
  private faults: Fault[] = [];
  private nextId = 1000;
  private clock = Date.parse('2026-11-23T06:00:00Z');

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  addRepo(
    owner: string,
    name: string,
    options: {
      gitDir?: string;
      autoMergeAllowed?: boolean;
      actionsCanCreatePullRequests?: boolean;
      hasIssues?: boolean;
      /** Default `main`. */
      defaultBranch?: string;
      /**
       * Refuse pushes to `gitDir` that change `.github/workflows/` as GitHub refuses them for a token without the
       * `workflows` permission (installWorkflowPushGuard).
       */
      guardWorkflowPushes?: boolean;
      /** Branches a token may not push (a protection rule requiring pull requests; installBranchProtection). */
      protectedBranches?: string[];
    } = {},
  ): EmulatedRepo {
    if (options.guardWorkflowPushes && options.gitDir) installWorkflowPushGuard(options.gitDir);
    if (options.protectedBranches && options.gitDir)
      installBranchProtection(options.gitDir, options.protectedBranches);
    const repo: EmulatedRepo = {
      owner,
      name,
      autoMergeAllowed: options.autoMergeAllowed ?? true,
      actionsCanCreatePullRequests: options.actionsCanCreatePullRequests ?? true,
      hasIssues: options.hasIssues ?? true,
      defaultBranch: options.defaultBranch ?? 'main',
      labels: new Map(),
      nextNumber: 1,
      ...(options.gitDir ? { gitDir: options.gitDir } : {}),
    };
    this.repos.set(`${owner}/${name}`, repo);
    return repo;
  }

  /** The next `times` requests matching `method`/`path` get `status` with GitHub's error body. */
  failNext(
    status: number,
    match: {
      method?: string;
      path?: RegExp;
      times?: number;
      /** The answer's body instead of GitHub's generic error body. */
      body?: Record<string, unknown>;
      headers?: Record<string, string>;
    } = {},
  ): void {
    this.faults.push({ status, times: match.times ?? 1, ...match });
  }

  /**
   * The next `times` matching requests hit a rate limit as GitHub answers it: `secondary` is 403 (or 429) with
   * `retry-after` seconds; `primary` is 403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` (epoch seconds)
   * `seconds` from now.
   */
  rateLimitNext(
    kind: 'secondary' | 'primary',
    match: { method?: string; path?: RegExp; times?: number; status?: 403 | 429; seconds?: number } = {},
  ): void {
    const seconds = match.seconds ?? 1;
    const status = match.status ?? 403;
    const headers: Record<string, string> =
      kind === 'secondary'
        ? { 'retry-after': String(seconds) }
        : {
            'x-ratelimit-limit': '5000',
            'x-ratelimit-remaining': '0',
            'x-ratelimit-used': '5000',
            'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + seconds),
            'x-ratelimit-resource': 'core',
          };
    const message =
      kind === 'secondary'
        ? 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:LAB.'
        : 'API rate limit exceeded for installation ID 1.';
    const documentation_url =
      kind === 'secondary'
        ? 'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits'
        : 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit';
    this.failNext(status, {
      ...(match.method ? { method: match.method } : {}),
      ...(match.path ? { path: match.path } : {}),
      times: match.times ?? 1,
      body: { message, documentation_url, status: String(status) },
      headers,
    });
  }

  /**
   * The race right after a push: the next `times` POST /pulls answer 422 as GitHub does while the pushed head is
   * not visible to the API yet ("No commits between main and <head>").
   */
  lagNextPullCreation(times = 1): void {
    this.faults.push({ status: 422, method: 'POST', path: /\/pulls$/, times, body: { lag: true } });
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        this.send(res, 500, { message: `emulator error: ${(error as Error).message}` });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private now(): string {
    this.clock += 1000;
    return new Date(this.clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  private send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'x-github-media-type': 'github.v3; format=json',
      ...headers,
    });
    res.end(text);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const gitPath = GIT_PATH.exec(new URL(req.url ?? '/', this.url).pathname);
    if (gitPath) return this.handleGit(req, res, `${gitPath[1]}/${gitPath[2]}`);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', this.url);
    const method = req.method ?? 'GET';
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      this.requests.push({ method, path: url.pathname, body: raw });
      return this.send(res, 400, {
        message: 'Problems parsing JSON',
        documentation_url: DOCS,
        status: '400',
      });
    }
    this.requests.push({ method, path: url.pathname, body });

    const auth = req.headers.authorization;
    if (!auth)
      return this.send(res, 401, {
        message: 'Requires authentication',
        documentation_url: DOCS,
        status: '401',
      });
    const token = auth.replace(/^(token|bearer)\s+/i, '');
    if (this.tokens.size > 0 && !this.tokens.has(token))
      return this.send(res, 401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });

    const fault = this.faults.find(
      (f) => (!f.method || f.method === method) && (!f.path || f.path.test(url.pathname)),
    );
    if (fault) {
      if (--fault.times <= 0) this.faults = this.faults.filter((f) => f !== fault);
      if (fault.body?.lag) return this.send(res, 422, this.lagBody(body));
      const message = fault.status >= 500 ? 'Server Error' : fault.status === 403 ? 'Forbidden' : 'Error';
      return this.send(
        res,
        fault.status,
        fault.body ?? { message, documentation_url: DOCS, status: String(fault.status) },
        fault.headers,
      );
    }

    try {
      this.checkPermission(token, method, url);
      const answer = this.route(method, url, body, this.logins.get(token) ?? DEFAULT_TOKEN_LOGIN);
      this.send(res, answer.status, answer.body, answer.headers);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      this.send(res, error.status, error.body);
    }
  }

  /** A clone, fetch or push of a repository that has a `gitDir` (git-http.ts). */
  private async handleGit(req: IncomingMessage, res: ServerResponse, key: string): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, body: undefined });
    const gitDir = this.repos.get(key)?.gitDir;
    if (!gitDir) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Repository not found.\n');
      return;
    }
    const token = basicAuthToken(req.headers.authorization);
    const granted = token === undefined ? undefined : this.permissions.get(token);
    await serveGit(req, res, url, gitDir, {
      token,
      known: token !== undefined && (this.tokens.size === 0 || this.tokens.has(token)),
      login: (token && this.logins.get(token)) || DEFAULT_TOKEN_LOGIN,
      ...(granted ? { contents: granted.contents ?? 'none', workflows: granted.workflows ?? 'none' } : {}),
    });
  }

  private lagBody(body: unknown) {
    const input = (body ?? {}) as { head?: unknown; base?: unknown };
    return {
      message: 'Validation Failed',
      errors: [
        {
          resource: 'PullRequest',
          code: 'custom',
          message: `No commits between ${String(input.base)} and ${String(input.head)}`,
        },
      ],
      documentation_url: 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request',
      status: '422',
    };
  }

  /** The permission a call needs (GitHub's "Permissions required for GitHub Apps"), or undefined for none. */
  private requiredPermission(
    method: string,
    url: URL,
  ): { scopes: PermissionScope[]; level: 'read' | 'write' } | undefined {
    const level = method === 'GET' || method === 'HEAD' ? 'read' : 'write';
    const path = url.pathname;
    if (method === 'POST' && path === '/graphql') return { scopes: ['pull-requests'], level: 'write' };
    const match = /^\/repos\/([^/]+\/[^/]+)\/([^/]+)(?:\/(\d+))?/.exec(path);
    if (!match) return undefined;
    const [, key, collection, number] = match;
    if (collection === 'statuses' || (collection === 'commits' && path.endsWith('/statuses')))
      return { scopes: ['statuses'], level };
    if (collection === 'dispatches') return { scopes: ['contents'], level: 'write' };
    if (collection === 'pulls') return { scopes: ['pull-requests'], level };
    if (collection === 'labels') return { scopes: ['issues', 'pull-requests'], level };
    if (collection === 'issues') {
      const isPull =
        number !== undefined && this.pulls.some((p) => p.repo === key && p.number === Number(number));
      return { scopes: isPull ? ['issues', 'pull-requests'] : ['issues'], level };
    }
    return undefined;
  }

  private checkPermission(token: string, method: string, url: URL): void {
    const granted = this.permissions.get(token);
    if (!granted) return;
    const needed = this.requiredPermission(method, url);
    if (!needed) return;
    const enough = (scope: PermissionScope) =>
      granted[scope] === 'write' || (needed.level === 'read' && granted[scope] === 'read');
    if (needed.scopes.some(enough)) return;
    throw new HttpError(403, {
      message: 'Resource not accessible by integration',
      documentation_url: PERMISSIONS_DOCS,
      status: '403',
    });
  }

  /** POST /repos/{owner}/{repo}/dispatches: 204, or 422 for a missing event_type or an oversized payload. */
  private repositoryDispatch(key: string, body: unknown): { status: number; body: unknown } {
    if (!this.repos.has(key)) throw notFound();
    const input = (body ?? {}) as { event_type?: unknown; client_payload?: unknown };
    const invalid = (detail: string) => ({
      status: 422,
      body: { message: `Invalid request.\n\n${detail}`, documentation_url: DOCS, status: '422' },
    });
    if (typeof input.event_type !== 'string' || input.event_type === '' || input.event_type.length > 100)
      return invalid('"event_type" wasn\'t supplied.');
    const payload = input.client_payload;
    if (payload !== undefined && (typeof payload !== 'object' || payload === null || Array.isArray(payload)))
      return invalid("For 'properties/client_payload', it is not an object.");
    if (payload && Object.keys(payload).length > 10)
      return invalid("For 'properties/client_payload', it has more than 10 properties.");
    this.dispatches.push({ repo: key, event_type: input.event_type, client_payload: payload ?? {} });
    return { status: 204, body: undefined };
  }

  private route(
    method: string,
    url: URL,
    body: unknown,
    login: string,
  ): { status: number; body: unknown; headers?: Record<string, string> } {
    if (method === 'POST' && url.pathname === '/graphql') return { status: 200, body: this.graphql(body) };
    // repos/create-commit-status
    const createStatus = /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([^/]+)$/.exec(url.pathname);
    if (createStatus && method === 'POST')
      return this.createStatus(`${createStatus[1]}/${createStatus[2]}`, createStatus[3]!, body, login);
    // repos/list-commit-statuses-for-ref (also the legacy GET /repos/{owner}/{repo}/statuses/{ref})
    const listStatuses =
      /^\/repos\/([^/]+)\/([^/]+)\/commits\/(.+)\/statuses$/.exec(url.pathname) ??
      (method === 'GET' ? createStatus : null);
    if (listStatuses && method === 'GET') {
      const key = `${listStatuses[1]}/${listStatuses[2]}`;
      const repo = this.repos.get(key);
      if (!repo) throw notFound();
      const sha = this.resolveCommit(repo, decodeURIComponent(listStatuses[3]!));
      const list = this.statuses.filter((st) => st.repo === key && st.sha === sha).reverse();
      return this.page(url, list, (st) => this.statusJson(st));
    }
    // repos/get: the fields the code reads (default_branch), in the shape GitHub's REST reference shows.
    const repositoryGet = /^\/repos\/([^/]+)\/([^/]+)\/?$/.exec(url.pathname);
    if (repositoryGet && method === 'GET') {
      const repo = this.repos.get(`${repositoryGet[1]}/${repositoryGet[2]}`);
      if (!repo) throw notFound();
      return {
        status: 200,
        body: {
          name: repo.name,
          full_name: `${repo.owner}/${repo.name}`,
          owner: { login: repo.owner },
          default_branch: repo.defaultBranch,
          has_issues: repo.hasIssues,
          allow_auto_merge: repo.autoMergeAllowed,
        },
      };
    }
    const dispatch = /^\/repos\/([^/]+)\/([^/]+)\/dispatches$/.exec(url.pathname);
    if (dispatch && method === 'POST') return this.repositoryDispatch(`${dispatch[1]}/${dispatch[2]}`, body);
    const labels = /^\/repos\/([^/]+)\/([^/]+)\/labels(?:\/([^/]+))?$/.exec(url.pathname);
    if (labels) {
      const repo = this.repos.get(`${labels[1]}/${labels[2]}`);
      if (!repo) throw notFound();
      return this.labels(
        repo,
        method,
        labels[3] === undefined ? undefined : decodeURIComponent(labels[3]),
        body,
      );
    }
    const match = /^\/repos\/([^/]+)\/([^/]+)\/(pulls|issues)(?:\/(\d+)(?:\/(labels|comments))?)?\/?$/.exec(
      url.pathname,
    );
    if (!match) throw notFound();
    const [, owner, name, collection, numberText, sub] = match;
    const repo = this.repos.get(`${owner}/${name}`);
    if (!repo) throw notFound();
    const key = `${repo.owner}/${repo.name}`;
    const input = (body ?? {}) as Record<string, unknown>;
    const number = numberText === undefined ? undefined : Number(numberText);

    if (collection === 'pulls') {
      if (number === undefined && method === 'GET')
        return this.page(url, this.listPulls(key, url), (p) => this.pullJson(p));
      if (number === undefined && method === 'POST') {
        if (!repo.actionsCanCreatePullRequests && login === DEFAULT_TOKEN_LOGIN)
          throw new HttpError(403, {
            message: 'GitHub Actions is not permitted to create or approve pull requests.',
            documentation_url: 'https://docs.github.com/rest/pulls/pulls#create-a-pull-request',
            status: '403',
          });
        return { status: 201, body: this.pullJson(this.createPull(repo, input)) };
      }
      if (number !== undefined && !sub) {
        const pull = this.pulls.find((p) => p.repo === key && p.number === number);
        if (!pull) throw notFound();
        if (method === 'GET') return { status: 200, body: this.pullJson(pull) };
        if (method === 'PATCH') return { status: 200, body: this.pullJson(this.updatePull(pull, input)) };
      }
      throw notFound();
    }

    const isPull = number !== undefined && this.pulls.some((p) => p.repo === key && p.number === number);
    if (!repo.hasIssues && !isPull)
      throw new HttpError(410, {
        message: 'Issues are disabled for this repo',
        documentation_url: 'https://docs.github.com/v3/issues/',
        status: '410',
      });
    if (number === undefined) {
      if (method === 'GET') return this.page(url, this.listIssues(key, url), (i) => this.issueJson(i));
      if (method === 'POST') return { status: 201, body: this.issueJson(this.createIssue(repo, input)) };
      throw notFound();
    }
    const issue =
      this.issues.find((i) => i.repo === key && i.number === number) ??
      this.pulls.find((p) => p.repo === key && p.number === number);
    if (!issue) throw notFound();
    if (!sub) {
      if (method === 'GET') return { status: 200, body: this.issueJson(issue) };
      if (method === 'PATCH')
        return { status: 200, body: this.issueJson(this.updateIssue(issue, input, 'Issue')) };
      throw notFound();
    }
    if (sub === 'labels' && method === 'POST') {
      const labels = Array.isArray(body) ? body : input.labels;
      if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string' || l === ''))
        throw validationFailed([{ resource: 'Label', code: 'invalid', field: 'labels' }]);
      for (const label of labels as string[]) if (!issue.labels.includes(label)) issue.labels.push(label);
      issue.updated_at = this.now();
      return { status: 200, body: issue.labels.map((l) => this.labelJson(l)) };
    }
    if (sub === 'comments' && method === 'POST') {
      if (typeof input.body !== 'string' || input.body === '')
        throw validationFailed([{ resource: 'IssueComment', code: 'missing_field', field: 'body' }]);
      this.checkBodyLength(input.body, 'IssueComment');
      const comment: EmulatedComment = {
        repo: key,
        id: this.nextId++,
        issue_number: issue.number,
        body: input.body,
        created_at: this.now(),
      };
      this.comments.push(comment);
      issue.comments++;
      issue.updated_at = comment.created_at;
      return { status: 201, body: this.commentJson(comment) };
    }
    if (sub === 'comments' && method === 'GET') {
      const list = this.comments.filter((c) => c.repo === key && c.issue_number === issue.number);
      return this.page(url, list, (c) => this.commentJson(c));
    }
    throw notFound();
  }

  /**
   * GET/POST /repos/{owner}/{repo}/labels and GET /repos/{owner}/{repo}/labels/{name} (issues/create-label,
   * issues/get-label): a name of 1–50 characters, unique regardless of case (422 `already_exists`), a color of
   * six hex digits without `#` (422 `invalid`).
   */
  private labels(repo: EmulatedRepo, method: string, name: string | undefined, body: unknown) {
    if (name !== undefined) {
      const label = repo.labels.get(name.toLowerCase());
      if (method !== 'GET' || !label) throw notFound();
      return { status: 200, body: this.labelJson(label.name, label) };
    }
    if (method === 'GET')
      return { status: 200, body: [...repo.labels.values()].map((l) => this.labelJson(l.name, l)) };
    if (method !== 'POST') throw notFound();
    const input = (body ?? {}) as Record<string, unknown>;
    if (typeof input.name !== 'string' || input.name.trim() === '')
      throw validationFailed([{ resource: 'Label', code: 'missing_field', field: 'name' }]);
    if (input.name.length > 50)
      throw validationFailed([
        {
          resource: 'Label',
          code: 'custom',
          field: 'name',
          message: 'name is too long (maximum is 50 characters)',
        },
      ]);
    const color = input.color === undefined ? 'ededed' : input.color;
    if (typeof color !== 'string' || !/^[0-9a-fA-F]{6}$/.test(color))
      throw validationFailed([{ resource: 'Label', code: 'invalid', field: 'color' }]);
    if (typeof input.description === 'string' && input.description.length > 100)
      throw validationFailed([
        {
          resource: 'Label',
          code: 'custom',
          field: 'description',
          message: 'description is too long (maximum is 100 characters)',
        },
      ]);
    if (repo.labels.has(input.name.toLowerCase()))
      throw validationFailed([{ resource: 'Label', code: 'already_exists', field: 'name' }]);
    const label: EmulatedLabel = {
      name: input.name,
      color: color.toLowerCase(),
      description: typeof input.description === 'string' ? input.description : null,
    };
    repo.labels.set(label.name.toLowerCase(), label);
    return { status: 201, body: this.labelJson(label.name, label) };
  }

  private checkBodyLength(body: unknown, resource: string): void {
    if (typeof body === 'string' && body.length > 65_536)
      throw validationFailed([
        {
          resource,
          code: 'custom',
          field: 'body',
          message: 'body is too long (maximum is 65536 characters)',
        },
      ]);
  }

  /** GitHub's `per_page`/`page` pagination with a Link header pointing at the other pages. */
  private page<T>(url: URL, items: T[], json: (item: T) => unknown) {
    const perPage = Math.min(Math.max(Number(url.searchParams.get('per_page') ?? 30) || 30, 1), 100);
    const page = Math.max(Number(url.searchParams.get('page') ?? 1) || 1, 1);
    const last = Math.max(Math.ceil(items.length / perPage), 1);
    const link = (n: number) => {
      const target = new URL(url.toString());
      target.searchParams.set('page', String(n));
      target.searchParams.set('per_page', String(perPage));
      return `<${this.url}${target.pathname}${target.search}>`;
    };
    const links: string[] = [];
    if (page > 1) links.push(`${link(page - 1)}; rel="prev"`);
    if (page < last) links.push(`${link(page + 1)}; rel="next"`, `${link(last)}; rel="last"`);
    if (page > 1) links.push(`${link(1)}; rel="first"`);
    const headers: Record<string, string> = links.length > 0 ? { link: links.join(', ') } : {};
    return { status: 200, body: items.slice((page - 1) * perPage, page * perPage).map(json), headers };
  }

  private stateFilter(url: URL): (item: { state: string }) => boolean {
    const state = url.searchParams.get('state') ?? 'open';
    if (!['open', 'closed', 'all'].includes(state))
      throw validationFailed([{ resource: 'Issue', code: 'invalid', field: 'state', value: state }]);
    return (item) => state === 'all' || item.state === state;
  }

  private listIssues(key: string, url: URL): EmulatedIssue[] {
    const byState = this.stateFilter(url);
    const wanted = (url.searchParams.get('labels') ?? '')
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean);
    return [...this.issues, ...this.pulls]
      .filter((i) => i.repo === key && byState(i) && wanted.every((l) => i.labels.includes(l)))
      .sort((a, b) => b.number - a.number);
  }

  private listPulls(key: string, url: URL): EmulatedPull[] {
    const byState = this.stateFilter(url);
    const head = url.searchParams.get('head');
    const base = url.searchParams.get('base');
    const owner = key.split('/')[0];
    return this.pulls
      .filter((p) => p.repo === key && byState(p))
      .filter((p) => {
        if (!head) return true;
        const [user, branch] = head.includes(':') ? head.split(/:(.*)/s) : [head, undefined];
        return user === owner && (branch === undefined || branch === p.head);
      })
      .filter((p) => !base || p.base === base)
      .sort((a, b) => b.number - a.number);
  }

  private branchExists(repo: EmulatedRepo, branch: string): boolean {
    if (!repo.gitDir) return true;
    try {
      execFileSync(
        'git',
        ['--git-dir', repo.gitDir, 'rev-parse', '--verify', '--quiet', `refs/heads/${branch}`],
        {
          stdio: 'ignore',
        },
      );
      return true;
    } catch {
      return false;
    }
  }

  private createPull(repo: EmulatedRepo, input: Record<string, unknown>): EmulatedPull {
    const missing = ['title', 'head', 'base'].filter((f) => typeof input[f] !== 'string' || input[f] === '');
    if (missing.length > 0)
      throw validationFailed(
        missing.map((field) => ({ resource: 'PullRequest', code: 'missing_field', field })),
      );
    this.checkBodyLength(input.body, 'PullRequest');
    const headInput = input.head as string;
    const head = headInput.includes(':') ? headInput.split(/:(.*)/s)[1]! : headInput;
    const base = input.base as string;
    if (!this.branchExists(repo, head))
      throw validationFailed([{ resource: 'PullRequest', field: 'head', code: 'invalid' }]);
    if (!this.branchExists(repo, base))
      throw validationFailed([{ resource: 'PullRequest', field: 'base', code: 'invalid' }]);
    const key = `${repo.owner}/${repo.name}`;
    if (this.pulls.some((p) => p.repo === key && p.state === 'open' && p.head === head && p.base === base))
      throw validationFailed([
        {
          resource: 'PullRequest',
          code: 'custom',
          message: `A pull request already exists for ${repo.owner}:${head}.`,
        },
      ]);
    const now = this.now();
    const pull: EmulatedPull = {
      repo: key,
      number: repo.nextNumber++,
      node_id: `PR_lab${this.nextId++}`,
      title: input.title as string,
      body: typeof input.body === 'string' ? input.body : null,
      state: 'open',
      state_reason: null,
      labels: [],
      comments: 0,
      created_at: now,
      updated_at: now,
      closed_at: null,
      head,
      base,
      draft: input.draft === true,
      auto_merge: null,
    };
    this.pulls.push(pull);
    return pull;
  }

  private updatePull(pull: EmulatedPull, input: Record<string, unknown>): EmulatedPull {
    this.updateIssue(pull, input, 'PullRequest');
    if (typeof input.base === 'string') pull.base = input.base;
    return pull;
  }

  private createIssue(repo: EmulatedRepo, input: Record<string, unknown>): EmulatedIssue {
    if (typeof input.title !== 'string' || input.title === '')
      throw validationFailed([{ resource: 'Issue', code: 'missing_field', field: 'title' }]);
    this.checkBodyLength(input.body, 'Issue');
    const labels = Array.isArray(input.labels)
      ? [
          ...new Set(
            input.labels.map((l) => (typeof l === 'string' ? l : String((l as { name?: unknown }).name))),
          ),
        ]
      : [];
    const now = this.now();
    const issue: EmulatedIssue = {
      repo: `${repo.owner}/${repo.name}`,
      number: repo.nextNumber++,
      node_id: `I_lab${this.nextId++}`,
      title: input.title,
      body: typeof input.body === 'string' ? input.body : null,
      state: 'open',
      state_reason: null,
      labels,
      comments: 0,
      created_at: now,
      updated_at: now,
      closed_at: null,
    };
    this.issues.push(issue);
    return issue;
  }

  private updateIssue<T extends EmulatedIssue>(
    issue: T,
    input: Record<string, unknown>,
    resource: string,
  ): T {
    if (input.state !== undefined && input.state !== 'open' && input.state !== 'closed')
      throw validationFailed([{ resource, code: 'invalid', field: 'state', value: input.state }]);
    if (input.title !== undefined && (typeof input.title !== 'string' || input.title === ''))
      throw validationFailed([{ resource, code: 'missing_field', field: 'title' }]);
    this.checkBodyLength(input.body, resource);
    const now = this.now();
    if (typeof input.title === 'string') issue.title = input.title;
    if (typeof input.body === 'string' || input.body === null) issue.body = input.body;
    if (Array.isArray(input.labels)) issue.labels = input.labels.map(String);
    if (input.state === 'closed' && issue.state === 'open') {
      issue.state = 'closed';
      issue.closed_at = now;
      issue.state_reason = typeof input.state_reason === 'string' ? input.state_reason : 'completed';
    } else if (input.state === 'open' && issue.state === 'closed') {
      issue.state = 'open';
      issue.closed_at = null;
      issue.state_reason = 'reopened';
    }
    issue.updated_at = now;
    return issue;
  }

  /** The commit a SHA, branch or tag names in the repository's git directory; 422 as GitHub answers otherwise. */
  private resolveCommit(repo: EmulatedRepo, ref: string): string {
    const none = () =>
      new HttpError(422, {
        message: `No commit found for SHA: ${ref}`,
        documentation_url: DOCS,
        status: '422',
      });
    if (!repo.gitDir) {
      if (!/^[0-9a-f]{40}$/i.test(ref)) throw none();
      return ref.toLowerCase();
    }
    for (const candidate of [ref, `refs/heads/${ref}`, `refs/tags/${ref}`]) {
      try {
        return execFileSync(
          'git',
          ['--git-dir', repo.gitDir, 'rev-parse', '--verify', '--quiet', `${candidate}^{commit}`],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
        ).trim();
      } catch {
        // next form
      }
    }
    throw none();
  }

  /**
   * POST /repos/{owner}/{repo}/statuses/{sha} (repos/create-commit-status): 201 with the status; 422 when the sha
   * is not 40 hex digits, names no commit, or the state is not one of error, failure, pending, success.
   */
  private createStatus(key: string, sha: string, body: unknown, login: string) {
    const repo = this.repos.get(key);
    if (!repo) throw notFound();
    if (!/^[0-9a-f]{40}$/i.test(sha))
      throw validationFailed([
        { resource: 'Status', code: 'custom', field: 'sha', message: 'sha must be a 40 character SHA1' },
      ]);
    const commit = this.resolveCommit(repo, sha);
    const input = (body ?? {}) as Record<string, unknown>;
    if (!['error', 'failure', 'pending', 'success'].includes(String(input.state)))
      throw validationFailed([
        { resource: 'Status', code: 'custom', field: 'state', message: 'state is not included in the list' },
      ]);
    const status: EmulatedStatus = {
      repo: key,
      sha: commit,
      id: this.nextId++,
      state: input.state as EmulatedStatus['state'],
      context: typeof input.context === 'string' && input.context !== '' ? input.context : 'default',
      description: typeof input.description === 'string' ? input.description : null,
      target_url: typeof input.target_url === 'string' ? input.target_url : null,
      creator: login,
      created_at: this.now(),
    };
    this.statuses.push(status);
    return { status: 201, body: this.statusJson(status) };
  }

  private statusJson(status: EmulatedStatus) {
    return {
      url: `${this.url}/repos/${status.repo}/statuses/${status.sha}`,
      avatar_url: null,
      id: status.id,
      node_id: `SC_lab${status.id}`,
      state: status.state,
      description: status.description,
      target_url: status.target_url,
      context: status.context,
      created_at: status.created_at,
      updated_at: status.created_at,
      creator: this.userJson(status.creator),
    };
  }

  /** GitHub's simple-user for a login (a `[bot]` login is a Bot). */
  private userJson(login: string) {
    let id = 0;
    for (const c of login) id = (id * 31 + c.charCodeAt(0)) >>> 0;
    return {
      login,
      id,
      node_id: `U_lab${id}`,
      type: login.endsWith('[bot]') ? 'Bot' : 'User',
      site_admin: false,
      html_url: `https://github.com/${login.replace(/\[bot\]$/, '')}`,
    };
  }

  /** Only `enablePullRequestAutoMerge`, answered the way GitHub's GraphQL API does (errors inside a 200). */
  private graphql(body: unknown): unknown {
    const { query, variables } = (body ?? {}) as { query?: string; variables?: Record<string, unknown> };
    if (typeof query !== 'string' || !query.includes('enablePullRequestAutoMerge'))
      return { errors: [{ message: 'the lab emulator implements only enablePullRequestAutoMerge' }] };
    const id = variables?.pullRequestId;
    const pull = this.pulls.find((p) => p.node_id === id);
    if (!pull)
      return {
        data: { enablePullRequestAutoMerge: null },
        errors: [
          {
            type: 'NOT_FOUND',
            path: ['enablePullRequestAutoMerge'],
            message: `Could not resolve to a node with the global id of '${String(id)}'.`,
          },
        ],
      };
    const repo = this.repos.get(pull.repo)!;
    if (!repo.autoMergeAllowed || pull.state !== 'open')
      return {
        data: { enablePullRequestAutoMerge: null },
        errors: [
          {
            type: 'UNPROCESSABLE',
            path: ['enablePullRequestAutoMerge'],
            message: repo.autoMergeAllowed
              ? 'Pull request is not in the correct state to enable auto-merge'
              : 'Pull request Auto merge is not allowed for this repository',
          },
        ],
      };
    pull.auto_merge = { merge_method: String(variables?.mergeMethod ?? 'MERGE').toLowerCase() };
    return { data: { enablePullRequestAutoMerge: { pullRequest: { number: pull.number } } } };
  }

  private labelJson(name: string, label?: EmulatedLabel) {
    let id = 0;
    for (const c of name) id = (id * 31 + c.charCodeAt(0)) >>> 0;
    return {
      id,
      node_id: `LA_lab${id}`,
      url: `${this.url}/labels/${name}`,
      name,
      color: label?.color ?? 'ededed',
      default: false,
      description: label?.description ?? null,
    };
  }

  private issueJson(issue: EmulatedIssue) {
    const isPull = 'head' in issue;
    const kind = isPull ? 'pull' : 'issues';
    return {
      id: Number.parseInt(issue.node_id.replace(/\D/g, ''), 10),
      node_id: issue.node_id,
      url: `${this.url}/repos/${issue.repo}/issues/${issue.number}`,
      html_url: `https://github.com/${issue.repo}/${kind}/${issue.number}`,
      number: issue.number,
      title: issue.title,
      body: issue.body,
      state: issue.state,
      state_reason: issue.state_reason,
      labels: issue.labels.map((l) => this.labelJson(l)),
      user: BOT,
      comments: issue.comments,
      created_at: issue.created_at,
      updated_at: issue.updated_at,
      closed_at: issue.closed_at,
      ...(isPull ? { pull_request: { url: `${this.url}/repos/${issue.repo}/pulls/${issue.number}` } } : {}),
    };
  }

  private pullJson(pull: EmulatedPull) {
    const owner = pull.repo.split('/')[0];
    const sha = (branch: string) => {
      const repo = this.repos.get(pull.repo);
      if (!repo?.gitDir) return '0'.repeat(40);
      try {
        return execFileSync('git', ['--git-dir', repo.gitDir, 'rev-parse', `refs/heads/${branch}`], {
          encoding: 'utf8',
        }).trim();
      } catch {
        return '0'.repeat(40);
      }
    };
    return {
      ...this.issueJson(pull),
      url: `${this.url}/repos/${pull.repo}/pulls/${pull.number}`,
      html_url: `https://github.com/${pull.repo}/pull/${pull.number}`,
      head: { label: `${owner}:${pull.head}`, ref: pull.head, sha: sha(pull.head) },
      base: { label: `${owner}:${pull.base}`, ref: pull.base, sha: sha(pull.base) },
      draft: pull.draft,
      merged: false,
      auto_merge: pull.auto_merge,
    };
  }

  private commentJson(comment: EmulatedComment) {
    return {
      id: comment.id,
      node_id: `IC_lab${comment.id}`,
      url: `${this.url}/repos/${comment.repo}/issues/comments/${comment.id}`,
      html_url: `https://github.com/${comment.repo}/issues/${comment.issue_number}#issuecomment-${comment.id}`,
      issue_url: `${this.url}/repos/${comment.repo}/issues/${comment.issue_number}`,
      body: comment.body,
      user: BOT,
      created_at: comment.created_at,
      updated_at: comment.created_at,
    };
  }
}
