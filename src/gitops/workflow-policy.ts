import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
  visit,
  type YAMLMap,
} from 'yaml';
import { compareProblems, type Problem } from '../model/problems.ts';

/**
 * The hardening rules the project's workflows keep (docs/security.md), checked on the YAML itself so
 * every finding points at its line:
 * - no `pull_request_target` trigger (it runs with secrets on code from forks);
 * - top-level `permissions` present and read-only (`{}`, `read-all`, or only `read`/`none` values): write access is
 *   granted per job, to the jobs that need it;
 * - every action from another repository pinned to a full 40-character commit SHA (`./local` actions and
 *   `docker://` images excepted);
 * - no `${{ }}` expression inside `run:` (an expression is pasted into the script before the shell parses it; values
 *   go through `env:` instead);
 * - a workflow that rotates (`uses: ./actions/rotate`) has `concurrency` and never cancels a rotation in progress;
 * - no `toJSON(secrets)` (it hands every secret the job can see to one step; pass the named ones instead), and the
 *   job that rotates runs in the environment the plan names for its matrix entry (`${{ matrix.environment }}`),
 *   so each data center's jobs see only that data center's secrets.
 */
export function workflowPolicyProblems(file: string, text: string): Problem[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const problems: Problem[] = [];
  const at = (node: Node | null | undefined, field: string, message: string) => {
    const { line, col } = lines.linePos(node?.range?.[0] ?? 0);
    problems.push({ severity: 'error', file, line, column: col, field, message });
  };
  if (doc.errors.length > 0 || !isMap(doc.contents)) {
    at(null, '', `not a workflow: ${doc.errors[0]?.message ?? 'the file is not a YAML mapping'}`);
    return problems;
  }
  const root = doc.contents;
  const field = (map: YAMLMap, key: string) => map.get(key, true) as Node | undefined;

  // `on` is read as the string "on" by YAML 1.2 parsers and as true by YAML 1.1 ones; accept both spellings.
  const on = field(root, 'on') ?? field(root, 'true');
  const triggers = isMap(on)
    ? on.items.map((p) => (isScalar(p.key) ? String(p.key.value) : ''))
    : isSeq(on)
      ? on.items.map((i) => (isScalar(i) ? String(i.value) : ''))
      : isScalar(on)
        ? [String(on.value)]
        : [];
  if (triggers.includes('pull_request_target'))
    at(
      on,
      'on.pull_request_target',
      'pull_request_target runs with secrets on code from forks; use pull_request',
    );

  const permissions = field(root, 'permissions');
  if (!permissions)
    at(
      root,
      'permissions',
      'no top-level permissions: set `permissions: {}` (or read-only) and grant per job',
    );
  else if (writes(permissions))
    at(
      permissions,
      'permissions',
      'top-level permissions grant write access; grant it only to the jobs that need it',
    );

  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && /toJSON\(\s*secrets\s*\)/i.test(node.value))
        at(
          node,
          'secrets',
          'toJSON(secrets) hands every secret of the environment to the step; pass only the secrets it needs (secrets[matrix.secrets[0]], …)',
        );
    },
  });

  const jobs = field(root, 'jobs');
  let rotates = false;
  if (isMap(jobs)) {
    for (const jobPair of jobs.items) {
      const jobName = isScalar(jobPair.key) ? String(jobPair.key.value) : '?';
      const job = jobPair.value;
      if (!isMap(job)) continue;
      const uses = field(job, 'uses');
      if (isScalar(uses)) checkUses(String(uses.value), uses, `jobs.${jobName}.uses`);
      const steps = field(job, 'steps');
      if (!isSeq(steps)) continue;
      steps.items.forEach((step, index) => {
        if (!isMap(step)) return;
        const where = `jobs.${jobName}.steps[${index}]`;
        const stepUses = field(step, 'uses');
        if (isScalar(stepUses)) {
          const ref = String(stepUses.value);
          if (ref === './actions/rotate') {
            rotates = true;
            const environment = field(job, 'environment');
            const name = isMap(environment) ? field(environment, 'name') : environment;
            if (!isScalar(name) || !/^\$\{\{\s*matrix\.environment\s*\}\}$/.test(String(name.value)))
              at(
                environment ?? job,
                `jobs.${jobName}.environment`,
                `the rotating job must run in its matrix entry's environment (environment: \${{ matrix.environment }}), one per data center`,
              );
          }
          checkUses(ref, stepUses, `${where}.uses`);
        }
        const run = field(step, 'run');
        if (isScalar(run) && /\$\{\{/.test(String(run.value)))
          at(
            run,
            `${where}.run`,
            'an expression inside run: is pasted into the script; pass the value through env:',
          );
      });
    }
  }
  if (rotates) {
    const concurrency = field(root, 'concurrency');
    if (!concurrency)
      at(root, 'concurrency', 'a rotating workflow needs concurrency, so two runs never rotate at once');
    else if (isMap(concurrency)) {
      const cancel = field(concurrency, 'cancel-in-progress');
      if (isScalar(cancel) && cancel.value !== false)
        at(cancel, 'concurrency.cancel-in-progress', 'a rotation in progress must never be cancelled');
    }
  }
  return problems.sort(compareProblems);

  function checkUses(ref: string, node: Node, field: string): void {
    if (ref.startsWith('./') || ref.startsWith('docker://')) return;
    const at40 = /^[^@\s]+@[0-9a-f]{40}$/.test(ref);
    if (!at40) at(node, field, `${ref} is not pinned to a full commit SHA (owner/repo@<40 hex> # vX.Y.Z)`);
  }
}

/** Whether a permissions value grants any write access. */
function writes(node: Node): boolean {
  if (isScalar(node)) return String(node.value) === 'write-all';
  if (!isMap(node)) return false;
  return node.items.some((p) => isPair(p) && isScalar(p.value) && String(p.value.value) === 'write');
}
