import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import {
  isBasicExpression,
  isBoolean,
  isMapping,
  isNumber,
  isSequence,
  isString,
} from '@actions/workflow-parser';
import type { TemplateToken } from '@actions/workflow-parser/templates/tokens/template-token';

type ExpressionData = data.ExpressionData;

/** A workflow wire the lab refuses: an expression naming something the workflow or the action never declares. */
export class WorkflowError extends Error {}

/**
 * A context whose keys are declared (a job's `outputs:`, an action's `outputs:`, a job's `needs:`). GitHub gives
 * `null` for any other key, so a renamed output silently becomes an empty string on GitHub; the lab refuses it
 * instead, naming what is declared (lab-only strictness, the point of issue 15).
 */
export class DeclaredKeys extends data.Dictionary {
  constructor(
    private readonly what: string,
    pairs: { key: string; value: ExpressionData }[],
  ) {
    super(...pairs);
  }

  override get(key: string): ExpressionData | undefined {
    const found = super.get(key);
    if (found !== undefined) return found;
    const declared = this.pairs().map((p) => p.key);
    throw new WorkflowError(
      `${this.what}.${key} is not declared (declared: ${declared.join(', ') || 'none'})`,
    );
  }
}

/** Plain JSON → the expression library's data (objects are case-insensitive dictionaries, as on GitHub). */
export function toData(value: unknown): ExpressionData {
  if (value instanceof data.Dictionary || value instanceof data.Array) return value;
  if (value === undefined || value === null) return new data.Null();
  if (typeof value === 'string') return new data.StringData(value);
  if (typeof value === 'number') return new data.NumberData(value);
  if (typeof value === 'boolean') return new data.BooleanData(value);
  if (Array.isArray(value)) return new data.Array(...value.map(toData));
  if (isExpressionData(value)) return value;
  return new data.Dictionary(
    ...Object.entries(value as Record<string, unknown>).map(([key, v]) => ({ key, value: toData(v) })),
  );
}

function isExpressionData(value: unknown): value is ExpressionData {
  return typeof value === 'object' && value !== null && 'kind' in value && 'coerceString' in value;
}

/** A `DeclaredKeys` context from a record: `what` names it in the error (`needs.plan.outputs`, say). */
export function declared(what: string, values: Record<string, unknown>): DeclaredKeys {
  return new DeclaredKeys(
    what,
    Object.entries(values).map(([key, value]) => ({ key, value: toData(value) })),
  );
}

/** The expression library's data → plain JSON. */
export function fromData(value: ExpressionData): unknown {
  return JSON.parse(JSON.stringify(value, data.replacer));
}

/**
 * What the status functions answer where the expression is evaluated: for a job's `if:`, from the results of the
 * jobs it needs; for a step's `if:`, from the job's steps so far (docs.github.com/en/actions/reference/
 * workflows-and-actions/expressions#status-check-functions).
 */
export interface JobStatus {
  /** success(): every needed job (job level) or every earlier step (step level) succeeded. */
  success: boolean;
  /** failure(): a needed job, or an earlier step, failed. */
  failure: boolean;
  /** cancelled(): the run (or, step level, this job) was cancelled. */
  cancelled: boolean;
}

function statusFunctions(status: JobStatus) {
  const fn = (name: string, answer: () => boolean) =>
    [name, { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(answer()) }] as const;
  return new Map([
    fn('success', () => status.success && !status.cancelled),
    fn('failure', () => status.failure),
    fn('always', () => true),
    fn('cancelled', () => status.cancelled),
  ]);
}

export type Contexts = Record<string, unknown>;

/** Evaluates one expression (without `${{ }}`) with GitHub's own lexer, parser and evaluator. */
export function evaluate(expression: string, contexts: Contexts, status: JobStatus): ExpressionData {
  const functions = statusFunctions(status);
  const tokens = new Lexer(expression).lex().tokens;
  const tree = new Parser(tokens, Object.keys(contexts), [...functions.values()]).parse();
  const context = new data.Dictionary(
    ...Object.entries(contexts).map(([key, value]) => ({ key, value: toData(value) })),
  );
  try {
    return new Evaluator(tree, context, functions).evaluate();
  } catch (error) {
    throw new WorkflowError(`\${{ ${expression} }}: ${(error as Error).message}`);
  }
}

/** GitHub's truthiness: false, 0, -0, '', null and NaN are false; arrays and objects are true. */
export function truthy(value: ExpressionData): boolean {
  switch (value.kind) {
    case data.Kind.Null:
      return false;
    case data.Kind.Boolean:
      return (value as data.BooleanData).value;
    case data.Kind.Number: {
      const n = value.number();
      return n !== 0 && !Number.isNaN(n);
    }
    case data.Kind.String:
      return value.coerceString() !== '';
    default:
      return true;
  }
}

/** A template value (a mapping, a sequence, a literal or an expression) with every expression evaluated. */
export function evaluateToken(token: TemplateToken, contexts: Contexts, status: JobStatus): unknown {
  if (isBasicExpression(token)) return fromData(evaluate(token.expression, contexts, status));
  if (isString(token)) return token.value;
  if (isNumber(token)) return token.value;
  if (isBoolean(token)) return token.value;
  if (isSequence(token)) {
    const items: unknown[] = [];
    for (let i = 0; i < token.count; i++) items.push(evaluateToken(token.get(i), contexts, status));
    return items;
  }
  if (isMapping(token)) {
    const map: Record<string, unknown> = {};
    for (const pair of token)
      map[String(evaluateToken(pair.key, contexts, status))] = evaluateToken(pair.value, contexts, status);
    return map;
  }
  return null;
}

/**
 * A value where the runner wants a string (`with:`, `env:`, outputs): booleans and numbers as their JSON text,
 * null as '' — what the runner's templating gives an action. Objects and arrays are refused as GitHub refuses them.
 */
export function asString(value: unknown, where: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new WorkflowError(
    `${where}: an ${Array.isArray(value) ? 'array' : 'object'} where a string is expected`,
  );
}
