import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isLiteral, NoOperationTraceWriter } from '@actions/workflow-parser';
import { convertActionTemplate, parseAction } from '@actions/workflow-parser/actions/index';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';
import { WorkflowError } from './expressions.ts';

/** An input an action declares, with its default (a literal or a `${{ }}` template, evaluated per step). */
export interface DeclaredInput {
  id: string;
  default?: TemplateToken | string | undefined;
}

export interface LocalAction {
  /** `./actions/<name>` as the workflow writes it. */
  uses: string;
  name: string;
  inputs: DeclaredInput[];
  outputs: string[];
  using: string;
  main: string;
}

/**
 * Reads a local action's `action.yml` with GitHub's own action parser (@actions/workflow-parser's parseAction and
 * convertActionTemplate, the schema the runner validates against): its inputs with defaults, outputs and `runs`.
 */
export function loadLocalAction(root: string, uses: string): LocalAction {
  const name = /^\.\/actions\/([\w-]+)\/?$/.exec(uses)?.[1];
  if (!name) throw new WorkflowError(`${uses}: the lab runs local actions under ./actions/<name> only`);
  const file = join(root, 'actions', name, 'action.yml');
  const parsed = parseAction(
    { name: file, content: readFileSync(file, 'utf8') },
    new NoOperationTraceWriter(),
  );
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (errors.length > 0 || !parsed.value) throw new WorkflowError(`${file}: ${errors.join('; ')}`);
  const template = convertActionTemplate(parsed.context, parsed.value);
  const runs = template.runs as { using: string; main?: string };
  return {
    uses,
    name,
    inputs: (template.inputs ?? []).map((i) => ({
      id: i.id,
      // A literal default as its text; a `${{ }}` default stays a template, evaluated for each step.
      default: i.default && isLiteral(i.default) ? i.default.toString() : i.default,
    })),
    outputs: (template.outputs ?? []).map((o) => o.id),
    using: runs.using,
    main: runs.main ?? '',
  };
}

/**
 * The inputs a step's action is given, as the runner resolves them: every declared input, the `with:` value or
 * else its default (evaluated). The runner only warns about a `with:` key the action does not declare
 * (actions/runner, src/Runner.Worker/ActionRunner.cs: "Unexpected input(s) '…', valid inputs are […]"); the lab
 * makes that an error so a renamed input fails a test.
 */
export function resolveInputs(
  action: string,
  declaredInputs: readonly DeclaredInput[],
  given: Record<string, string>,
  evaluateDefault: (token: TemplateToken) => string,
): Record<string, string> {
  const known = new Set(declaredInputs.map((i) => i.id.toLowerCase()));
  const unexpected = Object.keys(given).filter((k) => !known.has(k.toLowerCase()));
  if (unexpected.length > 0)
    throw new WorkflowError(
      `${action}: Unexpected input(s) ${unexpected.map((k) => `'${k}'`).join(', ')}, valid inputs are [${declaredInputs.map((i) => `'${i.id}'`).join(', ')}]`,
    );
  const resolved: Record<string, string> = {};
  for (const input of declaredInputs) {
    const key = Object.keys(given).find((k) => k.toLowerCase() === input.id.toLowerCase());
    if (key !== undefined) resolved[input.id] = given[key]!;
    else if (typeof input.default === 'string') resolved[input.id] = input.default;
    else if (input.default) resolved[input.id] = evaluateDefault(input.default);
    else resolved[input.id] = '';
  }
  return resolved;
}

/**
 * Inputs as a JavaScript action reads them: `INPUT_<NAME>` with the name upper-cased and spaces as `_`
 * (actions/toolkit packages/core/src/core.ts getInput; the runner sets one variable per resolved input).
 */
export function inputEnv(inputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(inputs).map(([name, value]) => [`INPUT_${name.replace(/ /g, '_').toUpperCase()}`, value]),
  );
}
