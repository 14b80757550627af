/**
 * Keeps submissions to the ingestor in arrival order across routes whose work before the
 * submission takes different times (a canonical message is parsed at once, a mapped one waits
 * for its JSONata evaluation in a worker). Each message's slow part runs concurrently; its
 * submission waits until every earlier message of the connection has submitted — not until
 * they are committed, so group commit still merges them. The outbox order (and the order of
 * the held-back PUBACKs) is then the order the broker delivered.
 */
import type { MqttRoute } from "../../ingress/mqtt/mqtt-ingress.js";

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
  let pending = 0;
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T, R>(
      ready: T | Promise<T>,
      enqueue: (value: T) => Enqueued<R> | Promise<Enqueued<R>>,
    ): Promise<R> {
      if (pending === 0 && !isThenable(ready)) {
        const now = enqueue(ready);
        if (!isThenable(now)) return now.committed;
        return track(Promise.resolve(now));
      }
      return track(tail.then(() => ready).then(enqueue));

      function track(turn: Promise<Enqueued<R>>): Promise<R> {
        pending++;
        const settled = turn.finally(() => pending--);
        tail = settled.catch(() => undefined);
        return settled.then((e) => e.committed);
      }
    },
    async idle() {
      while (pending > 0) await tail;
    },
  };
}

function isThenable<T>(value: unknown): value is Promise<T> {
  return (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  );
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
  };
}
