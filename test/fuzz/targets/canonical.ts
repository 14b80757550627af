/**
 * The canonical JSON envelope: the parser alone, and the canonical MQTT route's `handle` through
 * a real ingestor on a real SQLite store.
 */
import type { IPublishPacket } from "mqtt";
import { createMessageParser, type ParsedItem } from "../../../sidecar/src/canonical/parse.js";
import { createEventValidator } from "../../../sidecar/src/canonical/validate.js";
import { createCanonicalRoute } from "../../../sidecar/src/ingress/mqtt/canonical-route.js";
import { canonicalTopic } from "../../../sidecar/src/canonical/topics.js";
import { randomName } from "../../helpers/services.js";
import { validEvent, validId, withSite } from "../arbitraries.js";
import {
  isKnownOutcome,
  isRejectionCode,
  missingOrDoubled,
  openFuzzStore,
  type FuzzTarget,
} from "../harness.js";
import { loadBytes, saveBytes } from "./bytes.js";

const validate = createEventValidator();

/** Whether a payload is an empty JSON array: it carries no event, so it gets no outcome. */
export function isEmptyArray(payload: Buffer): boolean {
  try {
    const value = JSON.parse(payload.toString("utf8")) as unknown;
    return Array.isArray(value) && value.length === 0;
  } catch {
    return false;
  }
}

/** Throws unless every item is a valid event or a rejection with a contract code. */
export function checkItems(items: ParsedItem[], payload: Buffer): void {
  if (items.length === 0 && !isEmptyArray(payload)) throw new Error("no item for a message");
  for (const item of items) {
    if (item.kind === "event" && !validate(item.event).ok)
      throw new Error(`an invalid event got through: ${JSON.stringify(item.event).slice(0, 200)}`);
    if (item.kind === "reject" && !isRejectionCode(item.rejection.code))
      throw new Error(`unknown rejection code ${item.rejection.code}`);
  }
}

export function publishPacket(topic: string, payload: Buffer): IPublishPacket {
  return { cmd: "publish", topic, payload, qos: 1, dup: false, retain: false, messageId: 1 };
}

/** `createMessageParser` alone (site `main`). */
export function canonicalParserTarget(): FuzzTarget<string | Uint8Array> {
  const parse = createMessageParser();
  const ctx = { site: "main", source: "mqtt" as const, origin: canonicalTopic("main") };
  return {
    name: "canonical-parser",
    async feed(input) {
      const payload = withSite(input, "main");
      checkItems(parse(payload, ctx), payload);
    },
    async feedValid(n, type) {
      const [item] = parse(JSON.stringify(validEvent(type, "main", validId("parser", n))), ctx);
      if (item?.kind !== "event") throw new Error(`valid ${type} event not accepted`);
    },
    check: async () => [],
    save: saveBytes,
    load: loadBytes,
    close: async () => undefined,
  };
}

/** The canonical MQTT route on its own site's topic, a real ingestor and SQLite store. */
export async function canonicalRouteTarget(): Promise<FuzzTarget<string | Uint8Array>> {
  const fz = await openFuzzStore();
  const site = randomName("fz");
  const topic = canonicalTopic(site);
  const route = createCanonicalRoute({
    sites: [site],
    parse: createMessageParser(),
    ingestor: fz.ingestor,
  });
  const handle = (payload: Buffer) => route.handle(topic, payload, publishPacket(topic, payload));
  const kept: string[] = [];
  return {
    name: "canonical-route",
    async feed(input) {
      const payload = withSite(input, site);
      await handle(payload);
      const outcomes = fz.takeOutcomes();
      if (outcomes.length === 0 && !isEmptyArray(payload))
        throw new Error("a message left no outcome");
      const odd = outcomes.find((o) => !isKnownOutcome(o));
      if (odd) throw new Error(`outcome outside the contract: ${odd.status} ${odd.code}`);
    },
    async feedValid(n, type) {
      const id = validId("canonical", n);
      kept.push(id);
      await handle(Buffer.from(JSON.stringify(validEvent(type, site, id))));
      const outcomes = fz.takeOutcomes().map((o) => `${o.eventId} ${o.status}`);
      if (outcomes.join() !== `${id} accepted`) throw new Error(`valid event: ${outcomes.join()}`);
    },
    check: () => missingOrDoubled(fz.store, site, kept),
    save: saveBytes,
    load: loadBytes,
    close: () => fz.close(),
  };
}
