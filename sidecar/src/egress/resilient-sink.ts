/**
 * Retries with backoff for a legacy sink (cockatiel): a transient failure (the legacy database or
 * endpoint away, a lock, a network error) is retried a few times with exponential backoff and
 * jitter within one delivery; a permanent one (refused data, bad configuration) is not. After
 * consecutive failures the circuit opens and deliveries fail fast until `halfOpenAfterMs`, so a
 * legacy system that is down is not hammered on every outbound poll; the outbound poller tries
 * the release again on its next polls and reports it `failed` to Odoo after its attempts.
 */
import type { OutboundSink } from "../contracts/outbound.js";
import {
  BrokenCircuitError,
  ConsecutiveBreaker,
  ExponentialBackoff,
  circuitBreaker,
  handleWhen,
  retry,
  wrap,
} from "cockatiel";
import { PlantBridgeError, TransientError } from "../errors.js";
import type { Logger } from "../logger.js";

export interface ResilienceOptions {
  /** Attempts within one delivery. @default 3 */
  attempts?: number;
  /** First backoff delay. @default 500 */
  initialDelayMs?: number;
  /** @default 10000 */
  maxDelayMs?: number;
  /** Consecutive failed deliveries that open the circuit. @default 5 */
  breakAfter?: number;
  /** @default 30000 */
  halfOpenAfterMs?: number;
  logger?: Logger;
}

/** Whether a failure may go away by itself (typed errors say so; unknown errors are retried). */
export function isTransient(err: unknown): boolean {
  if (err instanceof PlantBridgeError) return err.kind === "transient";
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? "";
  // file system: a full disk, a busy or unreachable share
  if (/^(ENOSPC|EBUSY|EAGAIN|EIO|ETIMEDOUT|ECONNRESET|ESTALE|EMFILE|ENFILE)$/.test(code))
    return true;
  return !/^(EACCES|EPERM|ENOENT|ENOTDIR|EISDIR|EROFS|EINVAL)$/.test(code);
}

export function withResilience(sink: OutboundSink, options: ResilienceOptions = {}): OutboundSink {
  const retries = retry(handleWhen(isTransient), {
    maxAttempts: Math.max(0, (options.attempts ?? 3) - 1),
    backoff: new ExponentialBackoff({
      initialDelay: options.initialDelayMs ?? 500,
      maxDelay: options.maxDelayMs ?? 10_000,
    }),
  });
  retries.onRetry((r) =>
    options.logger?.debug(
      {
        sink: sink.name,
        delay: r.delay,
        attempt: r.attempt,
        err: "error" in r ? { message: r.error.message } : undefined,
      },
      "legacy sink: retrying",
    ),
  );
  const breaker = circuitBreaker(handleWhen(isTransient), {
    halfOpenAfter: options.halfOpenAfterMs ?? 30_000,
    breaker: new ConsecutiveBreaker(options.breakAfter ?? 5),
  });
  const policy = wrap(breaker, retries);
  return {
    name: sink.name,
    async deliver(row) {
      try {
        await policy.execute(() => sink.deliver(row));
      } catch (err) {
        if (err instanceof BrokenCircuitError)
          throw new TransientError(
            "sink_circuit_open",
            `${sink.name}: failing fast after repeated failures`,
            {
              cause: err,
            },
          );
        throw err;
      }
    },
  };
}
