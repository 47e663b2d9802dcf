import { spawn } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { basename, dirname } from 'node:path';
import { TOKEN_PUSH_ENV } from './branch-protection.ts';
import { WORKFLOWS_PERMISSION_ENV } from './workflow-guard.ts';

/** A clone URL's path on the emulator: `/<owner>/<repo>.git/<git's smart HTTP path>`. */
export const GIT_PATH = /^\/([^/]+)\/([^/]+?)\.git(\/.*)$/;

/** What the emulator knows of the caller: its token's login and grant, resolved by the emulator. */
export interface GitCaller {
  /** The token from `Authorization: Basic base64(x-access-token:<token>)`, or undefined without one. */
  token: string | undefined;
  login: string;
  /** `contents` and `workflows` of the token's grant; undefined: a token the emulator does not limit. */
  contents?: 'read' | 'write' | 'none';
  workflows?: 'read' | 'write' | 'none';
  known: boolean;
}

/** The token git sends as `http.<url>.extraheader: AUTHORIZATION: basic …` (src/gitops/git.ts), as actions/checkout does. */
export function basicAuthToken(header: string | undefined): string | undefined {
  const match = /^basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}

/** `git-upload-pack` (clone, fetch) or `git-receive-pack` (push) of a smart HTTP request. */
function gitService(url: URL): 'git-upload-pack' | 'git-receive-pack' | undefined {
  const service = url.searchParams.get('service') ?? url.pathname.split('/').pop();
  return service === 'git-upload-pack' || service === 'git-receive-pack' ? service : undefined;
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(`${text}\n`);
}

/**
 * Git over smart HTTP as GitHub serves it to a GITHUB_TOKEN or App token (BEHAVIOUR.md §7): the token as the
 * basic-auth password; a fetch needs `contents: read`, a push `contents: write`, else 403 with
 * "Permission to <owner>/<repo>.git denied to <login>." (git shows a text/plain body as `remote:` lines). The
 * repository is served by git's own `git http-backend`, so the pre-receive hook (workflow-guard.ts) runs on the
 * push, and sees the `workflows` permission of the token.
 */
export async function serveGit(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  gitDir: string,
  caller: GitCaller,
): Promise<void> {
  const [, owner, repo, rest] = GIT_PATH.exec(url.pathname)!;
  const service = gitService(url);
  if (!service) return sendText(res, 403, 'the lab serves the smart HTTP protocol only');
  if (!caller.token)
    return sendText(res, 401, 'Authentication required', { 'www-authenticate': 'Basic realm="GitHub"' });
  if (!caller.known) return sendText(res, 401, 'Invalid username or token.');
  const needed = service === 'git-receive-pack' ? 'write' : 'read';
  const level = caller.contents;
  const enough = level === undefined || level === 'write' || (needed === 'read' && level === 'read');
  if (!enough) return sendText(res, 403, `Permission to ${owner}/${repo}.git denied to ${caller.login}.`);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_PROJECT_ROOT: dirname(gitDir),
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: `/${basename(gitDir)}${rest}`,
    QUERY_STRING: url.search.replace(/^\?/, ''),
    REQUEST_METHOD: req.method ?? 'GET',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    REMOTE_USER: caller.login,
    REMOTE_ADDR: '127.0.0.1',
    [TOKEN_PUSH_ENV]: '1',
    ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
    ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
    ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
    ...(caller.workflows === 'write' ? { [WORKFLOWS_PERMISSION_ENV]: 'write' } : {}),
  };
  const backend = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  req.pipe(backend.stdin);
  await relayCgi(backend, res);
}

/** Relays a CGI response (headers, a blank line, the body; `Status:` sets the code) from the backend to `res`. */
function relayCgi(backend: ReturnType<typeof spawn>, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    let head = Buffer.alloc(0);
    let headersSent = false;
    let stderr = '';
    backend.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    backend.stdout!.on('data', (chunk: Buffer) => {
      if (headersSent) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      headersSent = true;
      res.write(head.subarray(end + 4));
    });
    backend.on('close', (code) => {
      if (!headersSent) sendText(res, 500, `git http-backend exited ${code}: ${stderr.trim()}`);
      else res.end();
      resolve();
    });
  });
}
