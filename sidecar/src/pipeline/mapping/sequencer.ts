/**
 * Keeps submissions to the ingestor in arrival order across routes whose work before the
 * submission takes different times (a canonical message is parsed at once, a mapped one waits
 * for its JSONata evaluation in a worker). Each message's slow part runs concurrently; its
 * submission waits until every earlier message of the connection has submitted — not until
 * they are committed, so group commit still merges them. The outbox order (and the order of
 * the held-back PUBACKs) is then the order the broker delivered.
 */

/** What a submission hands back once its items are in the ingestor's queue. */
export interface Enqueued<R> {
  committed: Promise<R>;
}

export interface Sequencer {
  /**
   * Calls `enqueue(await ready)` after every earlier call's `enqueue` has returned (in call
   * order) and resolves with what it committed. With nothing pending and a ready value, runs
   * at once (synchronously), so routes with nothing to wait for pay nothing.
   */
  run<T, R>(
    ready: T | Promise<T>,
    enqueue: (value: T) => Enqueued<R> | Promise<Enqueued<R>>,
  ): Promise<R>;
  /** Resolves once everything run so far has been enqueued. */
  idle(): Promise<void>;
}

export function createSequencer(): Sequencer {
  interface Entry {
    settled: boolean;
    value?: unknown;
    failed?: { error: unknown };
    enqueue: (value: unknown) => Enqueued<unknown> | Promise<Enqueued<unknown>>;
    resolve: (r: unknown) => void;
    reject: (e: unknown) => void;
  }
  const queue: Entry[] = [];
  /** An enqueue that returned a promise is running: later entries wait for it. */
  let busy = false;
  let idleWaiters: Array<() => void> = [];

  // Enqueues every ready entry at the head in one go: the submissions of messages whose
  // evaluations finished together reach the ingestor together, and commit together.
  function pump(): void {
    while (!busy && queue.length > 0 && queue[0]!.settled) {
      const entry = queue.shift()!;
      if (entry.failed) {
        entry.reject(entry.failed.error);
        continue;
      }
      let enqueued: Enqueued<unknown> | Promise<Enqueued<unknown>>;
      try {
        enqueued = entry.enqueue(entry.value);
      } catch (err) {
        entry.reject(err);
        continue;
      }
      if (isThenable<Enqueued<unknown>>(enqueued)) {
        busy = true;
        enqueued.then(
          (e) => {
            busy = false;
            entry.resolve(e.committed);
            pump();
          },
          (err: unknown) => {
            busy = false;
            entry.reject(err);
            pump();
          },
        );
        return;
      }
      entry.resolve(enqueued.committed);
    }
    if (!busy && queue.length === 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  return {
    run<T, R>(
      ready: T | Promise<T>,
      enqueue: (value: T) => Enqueued<R> | Promise<Enqueued<R>>,
    ): Promise<R> {
      return new Promise<R>((resolve, reject) => {
        const entry: Entry = {
          settled: !isThenable(ready),
          value: ready,
          enqueue: enqueue as Entry["enqueue"],
          resolve: resolve as (r: unknown) => void,
          reject,
        };
        queue.push(entry);
        if (isThenable<T>(ready)) {
          ready.then(
            (value) => {
              entry.settled = true;
              entry.value = value;
              pump();
            },
            (error: unknown) => {
              entry.settled = true;
              entry.failed = { error };
              pump();
            },
          );
        } else {
          pump(); // nothing pending: runs at once, synchronously
        }
      });
    },
    idle() {
      if (!busy && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
  };
}

/**
 * A route whose submissions take their turn in the sequencer: the canonical route, so that a
 * canonical message never overtakes a mapped message that arrived before it.
 */
export function inSequence(route: MqttRoute, sequencer: Sequencer): MqttRoute {
  return {
    name: route.name,
    get filters() {
      return route.filters;
    },
    handle: (topic, payload, packet) =>
      sequencer.run(undefined, () => ({ committed: route.handle(topic, payload, packet) })),
    ...(route.context && { context: route.context.bind(route) }),
  };
}

function isThenable<T>(value: unknown): value is Promise<T> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
import type { MqttRoute } from "../../contracts/mqtt.js";
