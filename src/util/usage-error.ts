/** Thrown for bad flags or arguments; the CLI prints the message and the command's usage hint, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
