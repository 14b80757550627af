/**
 * Nothing one message does may stop the flow. Whatever fails while a message is handled — a bug
 * of ours, a value a library chokes on, a payload the store refuses — ends as a dead letter of
 * that message with a code (`internal` unless something better is known) and a bounded copy of
 * its payload, kept for a replay once the cause is fixed. Only a store that commits nothing may
 * hold input back: then the failure is thrown, and the source keeps the message (an MQTT message
 * is not acknowledged, a webhook caller gets a 503) until the store takes commits again.
 */
import { rejectPayload, type MessageContext } from "../canonical/parse.js";
import {
  describeError,
  isRejectionCode,
  PlantBridgeError,
  StoreError,
  type RejectionCode,
} from "../errors.js";
import type { Logger } from "../logger.js";
import type { Ingestor } from "./ingestor.js";

export interface QuarantineOptions {
  ingestor: Ingestor;
  logger: Logger;
  /** Bytes of the payload kept in an `internal` dead letter. @default 65536 */
  keptPayloadBytes?: number;
  /** Wait before the one retry of a message whose commit failed. @default 100 */
  retryDelayMs?: number;
}

/**
 * Settles a message whose handling failed with `err`: retried once when the store failed (a
 * passing fault), else dead-lettered. Resolves when the message is durable in some form; rejects
 * with a `StoreError` only when the store itself takes nothing.
 */
export type Quarantine = (
  ctx: MessageContext,
  payload: Buffer,
  err: unknown,
  retry: () => Promise<unknown>,
) => Promise<void>;

export function createQuarantine(options: QuarantineOptions): Quarantine {
  const { ingestor, logger } = options;
  const kept = options.keptPayloadBytes ?? 64 * 1024;
  const delay = options.retryDelayMs ?? 100;

  return async function quarantine(ctx, payload, err, retry) {
    if (err instanceof StoreError) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      try {
        await retry();
        return;
      } catch (again) {
        if (!(again instanceof StoreError)) return deadLetter(ctx, payload, again);
        err = again;
      }
    }
    return deadLetter(ctx, payload, err);
  };

  /** One dead letter (`internal`, or the code a route refused it with); a failure to write it is the store's: held back. */
  async function deadLetter(ctx: MessageContext, payload: Buffer, err: unknown): Promise<void> {
    const cause = describeError(err);
    const storeRefused = err instanceof StoreError;
    // A refusal a route already coded (too_large, too_complex...) keeps its code and message.
    const coded =
      err instanceof PlantBridgeError && err.kind === "permanent" && isRejectionCode(err.code);
    const code: RejectionCode = coded ? (err.code as RejectionCode) : "internal";
    const message = coded
      ? err.message
      : storeRefused
        ? `the store refused this message while it took others: ${cause}`
        : `failed while handling this message: ${cause}`;
    // A payload the store refused is kept as base64, the form any store takes.
    const body = payload.subarray(0, kept);
    const rejection = rejectPayload(ctx, code, message, body, payload.length, payload);
    if (storeRefused) {
      rejection.payload = body.toString("base64");
      rejection.payloadEncoding = "base64";
    }
    try {
      await ingestor.ingest([{ kind: "reject", rejection }], ctx);
    } catch (failed) {
      throw failed instanceof StoreError
        ? failed
        : new StoreError(`no dead letter could be written: ${describeError(failed)}`, {
            cause: failed,
          });
    }
    if (!coded)
      logger.error(
        { err, site: ctx.site, source: ctx.source, origin: ctx.origin, bytes: payload.length },
        "a message failed: kept as an internal dead letter, the flow goes on",
      );
  }
}
