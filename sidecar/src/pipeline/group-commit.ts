/**
 * Group commit: callers that submit while a commit is in flight are merged into the next single
 * transaction (ARCHITECTURE.md "Group commit is what makes the durable inbox keep up"). Each
 * caller gets back exactly the results of its own items, after they are durable.
 *
 * A caller may also submit writes `W` (durable state) that commit with its items. They are
 * merged too, in submission order. When a merged commit fails with an error that `isolate`
 * recognises as caused by one caller's writes (a failed compare-and-set), nothing was committed;
 * the batch is committed again with every caller that has writes on its own, so only the caller
 * whose writes conflict gets the error, as if each had committed alone. After any other failure of
 * a merged commit, every caller commits alone: one caller's input never fails the others.
 */
export interface GroupCommitOptions<I, R, W = never> {
  commit: (items: I[], writes: W[]) => Promise<R[]>;
  /** Most items merged into one transaction (writes do not count). @default 1000 */
  maxItems?: number;
  /** Errors one caller's writes can cause. @default none */
  isolate?: (err: unknown) => boolean;
  /**
   * How long a batch waits for more submissions before it commits, decided from its items
   * (0: at once). A commit is an fsync: a batch not worth one on its own may wait for company.
   * @default none
   */
  linger?: (items: I[]) => number;
}

interface Submission<I, W> {
  items: I[];
  writes: W[];
}

export function createGroupCommit<I, R, W = never>(options: GroupCommitOptions<I, R, W>) {
  const maxItems = options.maxItems ?? 1000;
  const isolate = options.isolate ?? (() => false);
  type Waiter = Submission<I, W> & { resolve: (r: R[]) => void; reject: (e: unknown) => void };
  const queue: Waiter[] = [];
  let running: Promise<void> | undefined;

  /** One transaction for the batch; resolves every waiter with its slice of the results. */
  async function commitTogether(batch: Waiter[]): Promise<void> {
    const results = await options.commit(
      batch.flatMap((w) => w.items),
      batch.flatMap((w) => w.writes),
    );
    let offset = 0;
    for (const w of batch) {
      w.resolve(results.slice(offset, offset + w.items.length));
      offset += w.items.length;
    }
  }

  async function commitBatch(batch: Waiter[]): Promise<void> {
    try {
      await commitTogether(batch);
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      const writers = batch.filter((w) => w.writes.length > 0);
      // Callers without writes cannot have caused a write conflict: they still share one
      // transaction. Any other failure may be one caller's input that the store refuses: each
      // caller commits alone, so a poison input fails only its own caller.
      const conflict = isolate(err) && writers.length > 0;
      const parts = conflict
        ? [batch.filter((w) => w.writes.length === 0), ...writers.map((w) => [w])]
        : batch.map((w) => [w]);
      // Two solo failures in a row: the store itself is failing; the rest fail without a try.
      let failedInARow = 0;
      let lastError: unknown = err;
      for (const part of parts.filter((p) => p.length > 0)) {
        if (!conflict && failedInARow >= 2) {
          part.forEach((w) => w.reject(lastError));
          continue;
        }
        await commitTogether(part).then(
          () => (failedInARow = 0),
          (e: unknown) => {
            failedInARow++;
            lastError = e;
            part.forEach((w) => w.reject(e));
          },
        );
      }
    }
  }

  async function drain(): Promise<void> {
    while (queue.length > 0) {
      const wait = options.linger?.(queue.flatMap((w) => w.items)) ?? 0;
      if (wait > 0 && queue.length < maxItems) await new Promise((r) => setTimeout(r, wait));
      const batch: Waiter[] = [];
      let count = 0;
      while (
        queue.length > 0 &&
        (batch.length === 0 || count + queue[0]!.items.length <= maxItems)
      ) {
        const w = queue.shift()!;
        batch.push(w);
        count += w.items.length;
      }
      await commitBatch(batch);
    }
  }

  return {
    submit(items: I[], writes: W[] = []): Promise<R[]> {
      if (items.length === 0 && writes.length === 0) return Promise.resolve([]);
      return new Promise<R[]>((resolve, reject) => {
        queue.push({ items, writes, resolve, reject });
        running ??= drain().finally(() => {
          running = undefined;
        });
      });
    },
    /** Resolves once everything submitted so far is committed (or failed). */
    async flush(): Promise<void> {
      while (running) await running;
    },
  };
}
