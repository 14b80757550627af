import type { OutboundRow } from "./odoo-api.js";

/** Where releases go: the MQTT command topic; file, SQL and HTTP sinks plug in the same way. */
export interface OutboundSink {
  /** Recorded in Odoo with the acknowledgement, e.g. `mqtt:plant-bridge/v1/main/commands`. */
  name: string;
  /** Resolves once the plant side has the row (the sink's own acknowledgement). */
  deliver(row: OutboundRow): Promise<void>;
}
