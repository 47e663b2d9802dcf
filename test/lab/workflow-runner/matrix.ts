import { WorkflowError } from './expressions.ts';

export type MatrixLeg = Record<string, unknown>;

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function product(vectors: [string, unknown[]][]): MatrixLeg[] {
  let legs: MatrixLeg[] = [{}];
  for (const [key, values] of vectors)
    legs = legs.flatMap((leg) => values.map((v) => ({ ...leg, [key]: v })));
  return legs;
}

const matches = (leg: MatrixLeg, partial: MatrixLeg) =>
  Object.entries(partial).every(([k, v]) => same(leg[k], v));

/**
 * Expands a job's `strategy.matrix` as GitHub documents it (docs.github.com/en/actions/how-tos/write-workflows/
 * choose-what-workflows-do/run-job-variations): the product of the vectors, minus every `exclude` match; then each
 * `include` entry is added to every leg whose original values it does not overwrite, or becomes a leg of its own.
 * A matrix that expands to no leg is an error, as on GitHub ("Matrix vector ... does not contain any values").
 */
export function expandMatrix(matrix: unknown): MatrixLeg[] {
  if (matrix === undefined || matrix === null) return [{}];
  if (typeof matrix !== 'object' || Array.isArray(matrix))
    throw new WorkflowError(`strategy.matrix must be a mapping, got ${JSON.stringify(matrix)}`);
  const { include = [], exclude = [], ...vectors } = matrix as Record<string, unknown>;
  for (const [key, values] of Object.entries(vectors))
    if (!Array.isArray(values) || values.length === 0)
      throw new WorkflowError(`strategy.matrix.${key} must be a non-empty sequence`);
  const vectorEntries = Object.entries(vectors) as [string, unknown[]][];
  const original = vectorEntries.length > 0 ? product(vectorEntries) : [];
  const kept = original.filter((leg) => !(exclude as MatrixLeg[]).some((ex) => matches(leg, ex)));
  const legs = kept.map((leg) => ({ ...leg }));
  for (const entry of include as MatrixLeg[]) addInclude(legs, kept, entry);
  if (legs.length === 0) throw new WorkflowError('strategy.matrix expands to no job');
  return legs;
}

function addInclude(legs: MatrixLeg[], original: MatrixLeg[], entry: MatrixLeg): void {
  let added = false;
  // Only the product's legs take an include's values; a leg an earlier include added does not.
  legs.slice(0, original.length).forEach((leg, i) => {
    const base = original[i]!;
    const overwrites = Object.entries(entry).some(([k, v]) => k in base && !same(base[k], v));
    if (!overwrites) {
      Object.assign(leg, entry);
      added = true;
    }
  });
  if (!added) legs.push({ ...entry });
}

/** How GitHub lists a matrix leg: `job (value, value, …)`, the leg's values in order. */
export function legName(job: string, leg: MatrixLeg): string {
  const values = Object.values(leg);
  if (values.length === 0) return job;
  const shown = values.map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)));
  return `${job} (${shown.join(', ')})`;
}
