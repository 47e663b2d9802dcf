/** One argument for a POSIX shell: single-quoted, with embedded single quotes closed, escaped and reopened. */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new Error('a NUL byte cannot be passed to a shell');
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** A command line from a program and its arguments, every argument quoted. */
export function shellCommand(program: string, ...args: string[]): string {
  return [program, ...args.map(shellQuote)].join(' ');
}
