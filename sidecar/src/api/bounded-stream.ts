import { GraphQLError } from "graphql";

export interface BoundedStreamOptions<T> {
  /** Starts delivering values to `push`; returns what stops it. */
  attach: (push: (value: T) => void) => () => void;
  /** Values waiting for the reader at most; one more ends the stream. */
  max: number;
  /** Called once when the stream ends because its reader fell behind. */
  onOverflow?: () => void;
}

export interface BoundedStream<T> extends AsyncIterableIterator<T> {
  /** Ends the stream (the sidecar is closing). */
  end(): void;
}

/**
 * One subscriber's events, buffered up to `max` while its reader is busy. A reader that falls
 * further behind (a WebSocket client that stops reading: the socket's writes wait, so nothing is
 * taken from here) gets its stream ended with `SLOW_CONSUMER` instead of the sidecar buffering
 * without bound; the client subscribes again and reads what it missed from `messages`.
 */
export function boundedStream<T>(options: BoundedStreamOptions<T>): BoundedStream<T> {
  const queue: T[] = [];
  let waiter: ((result: IteratorResult<T>) => void) | undefined;
  let failure: GraphQLError | undefined;
  let done = false;

  const detach = options.attach((value) => {
    if (done) return;
    if (waiter) {
      const w = waiter;
      waiter = undefined;
      w({ value, done: false });
      return;
    }
    queue.push(value);
    if (queue.length > options.max) {
      failure = new GraphQLError(
        `the subscription fell more than ${options.max} events behind its reader and was ended; subscribe again`,
        { extensions: { code: "SLOW_CONSUMER" } },
      );
      queue.length = 0;
      finish();
      options.onOverflow?.();
    }
  });

  function finish(): void {
    if (done) return;
    done = true;
    detach();
    const w = waiter;
    waiter = undefined;
    w?.({ value: undefined, done: true });
  }

  const stream: BoundedStream<T> = {
    next() {
      if (queue.length > 0) return Promise.resolve({ value: queue.shift()!, done: false });
      if (failure) {
        const err = failure;
        failure = undefined;
        return Promise.reject(err);
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => (waiter = resolve));
    },
    return() {
      queue.length = 0;
      finish();
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(err?: unknown) {
      queue.length = 0;
      finish();
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    },
    end: () => finish(),
    [Symbol.asyncIterator]() {
      return stream;
    },
  };
  return stream;
}
