/**
 * One running job per key: a call while the key's job runs shares it, and the job runs once more
 * after (forced if any caller forced), so nothing asked for meanwhile is missed and no key ever
 * runs twice at once. Delivery runs each receiver's drain through it.
 */
export class SharedRuns {
  private readonly running = new Map<string, { done: Promise<void>; again: boolean; force: boolean }>();

  run(key: string, force: boolean, job: (force: boolean) => Promise<void>): Promise<void> {
    const current = this.running.get(key);
    if (current) {
      current.again = true;
      current.force ||= force;
      return current.done;
    }
    const run = { done: Promise.resolve(), again: false, force };
    run.done = (async () => {
      try {
        do {
          run.again = false;
          const f = run.force;
          run.force = false;
          await job(f);
        } while (run.again);
      } finally {
        this.running.delete(key);
      }
    })();
    this.running.set(key, run);
    return run.done;
  }
}
