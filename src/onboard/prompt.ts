/** Questions on a terminal, one answer per line; any readable stream works, so tests script the answers. */
import { createInterface, type Interface } from 'node:readline';

/** Where answers come from. `interactive` false: never ask (a missing field is a usage error instead). */
export interface AnswerSource {
  input: NodeJS.ReadableStream;
  interactive: boolean;
}

/** The process's own standard input: interactive only when it is a terminal. */
export function processAnswerSource(): AnswerSource {
  return { input: process.stdin, interactive: Boolean(process.stdin.isTTY) };
}

export class InputEndedError extends Error {
  override name = 'InputEndedError';
  constructor(readonly question: string) {
    super(`the input ended before "${question}" was answered`);
  }
}

export interface Question {
  /** The field asked for, shown as the prompt. */
  label: string;
  /** Known values, shown in the prompt; the answer may be one of them or its number in the list. */
  choices?: readonly string[];
  /** Only a value of `choices` is accepted. */
  closed?: boolean;
  /** Taken on an empty answer. */
  fallback?: string;
  /** An empty answer (with no fallback) leaves the field out. */
  optional?: boolean;
  /** Returns why an answer is not acceptable; the question is asked again. */
  check?: (answer: string) => string | undefined;
}

export class Prompter {
  private readonly lines: Interface;
  private readonly iterator: AsyncIterator<string>;

  constructor(
    input: NodeJS.ReadableStream,
    private readonly write: (text: string) => void,
  ) {
    // readline's async iterator buffers lines that arrive before the question is asked (scripted input).
    this.lines = createInterface({ input, terminal: false, crlfDelay: Number.POSITIVE_INFINITY });
    this.iterator = this.lines[Symbol.asyncIterator]();
  }

  /** Asks until the answer is acceptable; undefined for a skipped optional field. Throws when input ends. */
  async ask(question: Question): Promise<string | undefined> {
    const { choices = [] } = question;
    const listed = choices.length > 0 ? ` (${choices.map((c, i) => `${i + 1}) ${c}`).join(', ')})` : '';
    const fallback = question.fallback ? ` [${question.fallback}]` : question.optional ? ' [skip]' : '';
    for (;;) {
      this.write(`${question.label}${listed}${fallback}: `);
      const next = await this.iterator.next();
      if (next.done) {
        this.write('\n');
        throw new InputEndedError(question.label);
      }
      let answer = next.value.trim();
      if (answer === '') {
        if (question.fallback) return question.fallback;
        if (question.optional) return undefined;
        this.write(`  ${question.label} is required\n`);
        continue;
      }
      const index = /^\d+$/.test(answer) ? Number(answer) - 1 : -1;
      if (index >= 0 && index < choices.length) answer = choices[index]!;
      if (question.closed && !choices.includes(answer)) {
        this.write(`  choose one of: ${choices.join(', ')}\n`);
        continue;
      }
      const problem = question.check?.(answer);
      if (problem) {
        this.write(`  ${problem}\n`);
        continue;
      }
      return answer;
    }
  }

  close(): void {
    this.lines.close();
  }
}
