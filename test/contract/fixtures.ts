/** Builders for store contract tests: canonical events, ingest items, rejections. */
import { createHash } from "node:crypto";
import type { Rejection } from "../../sidecar/src/canonical/parse.js";
import {
  orderKeyOf,
  type CanonicalEvent,
  type MachineStatusEvent,
  type MaintenanceEvent,
  type ProductionEvent,
} from "../../sidecar/src/canonical/types.js";
import type { IngestItem } from "../../sidecar/src/store/types.js";

export const T0 = 1_700_000_000_000;

export function production(
  id: string,
  order = "WH/MO/00001",
  extra: Partial<ProductionEvent> = {},
): ProductionEvent {
  return {
    id,
    type: "production",
    site: "main",
    occurredAt: "2026-03-01T08:00:00+01:00",
    order,
    quantity: 1,
    ...extra,
  };
}

/** A machine state (with counters, as telemetry summaries carry them): the bulk lane. */
export function machineStatus(id: string, workcenter = "WC1"): MachineStatusEvent {
  return {
    id,
    type: "machine_status",
    site: "main",
    occurredAt: "2026-03-01T08:00:00+01:00",
    workcenter,
    status: "running",
    counters: { good: 1 },
  };
}

/** A maintenance request: critical, on the same business object (work center) as its states. */
export function maintenance(id: string, workcenter = "WC1"): MaintenanceEvent {
  return {
    id,
    type: "maintenance",
    site: "main",
    occurredAt: "2026-03-01T08:00:00+01:00",
    workcenter,
    kind: "corrective",
    description: "spindle noise",
  };
}

export function eventItem(
  event: CanonicalEvent,
  options: { receivedAt?: number; origin?: string; orderKey?: string } = {},
): IngestItem {
  return {
    kind: "event",
    event,
    source: "mqtt",
    origin: options.origin ?? `plant-bridge/v1/${event.site}/events`,
    orderKey: options.orderKey ?? orderKeyOf(event),
    receivedAt: options.receivedAt ?? T0,
  };
}

export function rejection(payload: string, overrides: Partial<Rejection> = {}): Rejection {
  const base: Rejection = {
    site: "main",
    code: "invalid_json",
    message: "payload is not JSON",
    payload,
    payloadEncoding: "utf8",
    payloadSize: Buffer.byteLength(payload),
    source: "mqtt",
    origin: "plant-bridge/v1/main/events",
    fingerprint: "",
    ...overrides,
  };
  if (!overrides.fingerprint) {
    base.fingerprint = createHash("sha256")
      .update(`${base.source}\0${base.origin}\0${base.site}\0${base.code}\0${base.payload}`)
      .digest("hex");
  }
  return base;
}

export function rejectItem(r: Rejection, receivedAt = T0): IngestItem {
  return { kind: "reject", rejection: r, receivedAt };
}

/**
 * Strings that break naive SQL or encodings: quotes, backslashes, `$1`, SQL comments,
 * right-to-left and combining marks, astral-plane characters (no NUL, no lone surrogates).
 */
export const HOSTILE = `'; DROP TABLE messages; -- "$1" \\ \\\\ \`x\` 𝔘𝔫𝔦 ✓ ê̂ עברית 🏭🔧 %s %d \t\n\r`;

/** An id of exactly 200 characters (code points) built from the hostile alphabet. */
export function hostileId(): string {
  const chars = [...HOSTILE];
  const out: string[] = [];
  for (let i = 0; out.length < 200; i++) {
    const c = chars[i % chars.length]!;
    if (c !== "\n" && c !== "\r" && c !== "\t") out.push(c);
  }
  return out.join("");
}
