import { readFileSync } from 'node:fs';

/**
 * Where secret values come from: always an explicit map, never the process environment at large. A device file
 * names secrets, and a name such as AWS_SECRET_ACCESS_KEY or ACTIONS_ID_TOKEN_REQUEST_TOKEN must find nothing.
 */
export interface SecretSource {
  /** Says where the values come from, for logs ("the job's 3 secret slots", "file ./secrets.json"). */
  readonly description: string;
  get(name: string): string | undefined;
  /** The names that have a value. */
  names(): string[];
}

export function secretMap(values: Readonly<Record<string, string>>, description: string): SecretSource {
  const map = new Map(Object.entries(values).filter(([, v]) => typeof v === 'string' && v !== ''));
  return { description, get: (name) => map.get(name), names: () => [...map.keys()].sort() };
}

export const NO_SECRETS: SecretSource = secretMap({}, 'no secrets');

/**
 * The slots a workflow fills for one job: OTTR_SECRET_<n> (1-based) holds the value of the n-th of `names` (the
 * plan's list for the job: `secrets[matrix.secrets[0]]` → OTTR_SECRET_1). Nothing else in the environment is read.
 */
export function secretSlots(names: readonly string[], env: NodeJS.ProcessEnv, slots: number): SecretSource {
  if (names.length > slots)
    throw new Error(`the job names ${names.length} secrets; a job has ${slots} slots`);
  const values: Record<string, string> = {};
  // An empty or unset slot is dropped by secretMap.
  names.forEach((name, i) => {
    values[name] = env[`OTTR_SECRET_${i + 1}`] ?? '';
  });
  return secretMap(
    values,
    `the job's secret slots OTTR_SECRET_1…${slots} (${names.length} named by the plan)`,
  );
}

/** A JSON file `{"NAME": "value", …}`, for `ottr rotate --secrets-file`. */
export function secretsFile(path: string): SecretSource {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code ? `cannot read the secrets file ${path} (${code})` : `the secrets file ${path} is not JSON`,
    );
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error(`the secrets file ${path} must hold one JSON object: {"NAME": "value", …}`);
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof value !== 'string') throw new Error(`the secrets file ${path}: ${name} must be a string`);
    values[name] = value;
  }
  return secretMap(values, `file ${path}`);
}

/** Environment variables PREFIX<NAME> only, for `ottr rotate --secrets-env-prefix OTTR_SECRET_`. */
export function secretsWithPrefix(env: NodeJS.ProcessEnv, prefix: string): SecretSource {
  if (!/^[A-Z][A-Z0-9_]*_$/.test(prefix))
    throw new Error(
      `--secrets-env-prefix must be upper case and end in _ (e.g. OTTR_SECRET_), not "${prefix}"`,
    );
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(env))
    if (key.startsWith(prefix) && key.length > prefix.length && value)
      values[key.slice(prefix.length)] = value;
  return secretMap(values, `environment variables ${prefix}<NAME>`);
}

/**
 * A value as the runner's masker needs it: the runner masks line by line, so a multi-line value (a PEM key) is
 * masked as each of its lines; a one-line value as itself.
 */
export function maskableParts(value: string): string[] {
  const parts = new Set<string>();
  for (const line of value.split(/\r?\n/)) if (line.trim()) parts.add(line.trim());
  return [...parts];
}
