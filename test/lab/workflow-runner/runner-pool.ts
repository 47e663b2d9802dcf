import { WorkflowError } from './expressions.ts';

/** A runner the lab offers: its labels (GitHub-hosted `ubuntu-latest`, or a self-hosted runner's labels). */
export interface LabRunner {
  name: string;
  labels: string[];
  /** Jobs at once (a self-hosted runner runs one job at a time; GitHub-hosted capacity is not the limit). */
  capacity?: number;
  /** The runner machine's environment (its network's endpoints, its CA bundle). */
  env?: Record<string, string>;
}

/**
 * Hands each job a runner whose labels include every label of its `runs-on` (case-insensitive), waiting while the
 * matching runners are busy. A job no runner matches stays queued and fails; GitHub waits up to 24 hours
 * (docs.github.com/en/actions/hosting-your-own-runners/managing-self-hosted-runners/about-self-hosted-runners,
 * "Usage limits": job queue time), the lab `noRunnerMs`.
 */
export class RunnerPool {
  private readonly busy = new Map<LabRunner, number>();
  private waiting: (() => void)[] = [];

  constructor(
    private readonly runners: readonly LabRunner[],
    private readonly noRunnerMs: number,
  ) {}

  matching(labels: readonly string[]): LabRunner[] {
    const wanted = labels.map((l) => l.toLowerCase());
    return this.runners.filter((r) => wanted.every((l) => r.labels.some((own) => own.toLowerCase() === l)));
  }

  async acquire(labels: readonly string[]): Promise<LabRunner> {
    const matching = this.matching(labels);
    if (matching.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, this.noRunnerMs));
      throw new WorkflowError(
        `no runner with the labels [${labels.join(', ')}] picked up the job (queued ${this.noRunnerMs} ms; GitHub fails it after 24 hours)`,
      );
    }
    for (;;) {
      const free = matching.find((r) => (this.busy.get(r) ?? 0) < (r.capacity ?? 1));
      if (free) {
        this.busy.set(free, (this.busy.get(free) ?? 0) + 1);
        return free;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  release(runner: LabRunner): void {
    this.busy.set(runner, (this.busy.get(runner) ?? 1) - 1);
    const wake = this.waiting;
    this.waiting = [];
    for (const w of wake) w();
  }
}
