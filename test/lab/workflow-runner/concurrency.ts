import { WorkflowError } from './expressions.ts';

/**
 * The concurrency groups of one repository, shared by every run that passes the same instance
 * (docs.github.com/en/actions/how-tos/write-workflows/choose-when-workflows-run/control-workflow-concurrency):
 * at most one run of a group is in progress and at most one is pending; a newly queued run cancels the pending
 * one ("Canceling since a higher priority waiting request for '<group>' exists", the runner's annotation in
 * public runs). `cancel-in-progress: true` would cancel the running one, which the lab cannot do to a running
 * action process, so it is refused.
 */
export class ConcurrencyGroups {
  private readonly running = new Map<string, Promise<void>>();
  private readonly pending = new Map<string, (cancelled: string) => void>();

  /**
   * Waits for the group. Resolves `release` (call it when the run ends) once this run may start, or `cancelled`
   * with GitHub's message when a newer run of the group queued while this one was pending.
   */
  async enter(
    group: string,
    cancelInProgress: boolean,
  ): Promise<{ release: () => void } | { cancelled: string }> {
    if (cancelInProgress)
      throw new WorkflowError(`concurrency ${group}: cancel-in-progress: true is not modelled by the lab`);
    while (this.running.has(group)) {
      this.pending.get(group)?.(`Canceling since a higher priority waiting request for '${group}' exists`);
      const turn = await new Promise<string | undefined>((resolve) => {
        this.pending.set(group, (message) => resolve(message));
        this.running.get(group)!.then(() => resolve(undefined));
      });
      if (turn !== undefined) return { cancelled: turn };
      if (this.pending.get(group)) this.pending.delete(group);
    }
    let release!: () => void;
    this.running.set(
      group,
      new Promise<void>((resolve) => {
        release = () => {
          this.running.delete(group);
          resolve();
        };
      }),
    );
    return { release };
  }
}
