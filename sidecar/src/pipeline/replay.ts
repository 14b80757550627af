import type { MessageParser } from "../contracts/checkers.js";
import { PermanentError } from "../errors.js";
import type { DeadLetter, IngestResult, Store } from "../store/types.js";
import type { Ingestor } from "./ingestor.js";

export interface ReplayerOptions {
  store: Store;
  parse: MessageParser;
  ingestor: Ingestor;
  /**
   * Runs a dead letter of a mapped message through its mapping again (the mapping may have been
   * fixed since); undefined when the dead letter did not come from a mapping.
   */
  remap?: (deadLetter: DeadLetter, payload: Buffer) => Promise<IngestResult[] | undefined>;
}

export interface ReplayOutcome {
  deadLetter: DeadLetter;
  /** `requeued` when the event went back to the outbox; else the results of re-ingesting it. */
  results: Array<IngestResult | { status: "requeued" }>;
}

/**
 * Replays a dead letter: an event Odoo rejected goes back to the outbox (same site and id, maybe
 * edited); unusable input (bad JSON, schema, ...) re-enters the pipeline as a new message.
 */
export type Replayer = (id: number, editedPayload?: string) => Promise<ReplayOutcome>;

export function createReplayer(options: ReplayerOptions): Replayer {
  const { store } = options;
  return async function replay(id: number, editedPayload?: string): Promise<ReplayOutcome> {
    const dl = await store.getDeadLetter(id);
    if (!dl) throw new PermanentError("not_found", `no dead letter ${id}`);
    if (dl.state !== "open")
      throw new PermanentError("state_conflict", `dead letter ${id} is already ${dl.state}`);
    // A webhook request that failed authentication was never vouched for by its sender: replaying
    // it as it is would let anyone who reaches the port book events through an operator's retry.
    if (dl.code === "signature" && editedPayload === undefined)
      throw new PermanentError(
        "signature",
        `dead letter ${id} failed authentication: replay it with its payload checked (edited), not as it is`,
      );
    if (dl.inInbox) {
      let event;
      if (editedPayload !== undefined) {
        const [item] = options.parse(editedPayload, {
          site: dl.site,
          source: "replay",
          origin: dl.origin,
        });
        if (!item || item.kind === "reject") {
          throw new PermanentError(
            item?.kind === "reject" ? item.rejection.code : "schema",
            item?.kind === "reject" ? item.rejection.message : "empty payload",
          );
        }
        if (item.event.id !== dl.eventId)
          throw new PermanentError("schema", "an edited event must keep its id");
        event = item.event;
      }
      await store.markReplayed(id, event);
      return { deadLetter: (await store.getDeadLetter(id))!, results: [{ status: "requeued" }] };
    }
    // A Sparkplug message depends on its session (sequence, aliases from the birth): it is not
    // decoded again out of context. Its dead letter keeps the payload for inspection.
    if (dl.source === "sparkplug" && dl.code === "internal")
      throw new PermanentError(
        "state_conflict",
        `dead letter ${id} is a Sparkplug B message that failed while handled: it cannot be replayed out of its session; discard it once inspected`,
      );
    const payload =
      editedPayload ??
      (dl.payloadEncoding === "base64" ? Buffer.from(dl.payload, "base64") : dl.payload);
    const results =
      (await options.remap?.(dl, Buffer.from(payload))) ??
      (await options.ingestor.ingest(
        options.parse(payload, { site: dl.site, source: "replay", origin: dl.origin }),
        { source: "replay", origin: dl.origin },
      ));
    await store.markReplayed(id);
    return { deadLetter: (await store.getDeadLetter(id))!, results };
  };
}
