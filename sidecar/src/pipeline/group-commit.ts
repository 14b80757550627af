/**
 * Group commit: callers that submit while a commit is in flight are merged into the next single
 * transaction (ARCHITECTURE.md "Group commit is what makes the durable inbox keep up"). Each
 * caller gets back exactly the results of its own items, after they are durable.
 */
export interface GroupCommitOptions<I, R> {
  commit: (items: I[]) => Promise<R[]>;
  /** Most items merged into one transaction. @default 1000 */
  maxItems?: number;
}

export function createGroupCommit<I, R>(options: GroupCommitOptions<I, R>) {
  const maxItems = options.maxItems ?? 1000;
  type Waiter = { items: I[]; resolve: (r: R[]) => void; reject: (e: unknown) => void };
  const queue: Waiter[] = [];
  let running: Promise<void> | undefined;

  async function drain(): Promise<void> {
    while (queue.length > 0) {
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
      try {
        const results = await options.commit(batch.flatMap((w) => w.items));
        let offset = 0;
        for (const w of batch) {
          w.resolve(results.slice(offset, offset + w.items.length));
          offset += w.items.length;
        }
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
  }

  return {
    submit(items: I[]): Promise<R[]> {
      if (items.length === 0) return Promise.resolve([]);
      return new Promise<R[]>((resolve, reject) => {
        queue.push({ items, resolve, reject });
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
