import type { SiteConfig } from "../contracts/site-config.js";
import { EventEmitter } from "node:events";
import type { Source } from "../canonical/parse.js";
import type { CanonicalEvent, MachineStatusEvent } from "../canonical/types.js";

/** What happened to one input, as seen by subscribers (GraphQL subscriptions, tests). */
export interface ProcessedEvent {
  site: string;
  eventId: string | null;
  type: string | null;
  /** accepted (durable in the outbox), duplicate, rejected (dead letter), applied / rejected in Odoo */
  status: "accepted" | "duplicate" | "rejected" | "applied" | "odoo_duplicate" | "odoo_rejected";
  code: string | null;
  message: string | null;
  source: Source | null;
  at: number;
}

export interface BusEvents {
  eventProcessed: [ProcessedEvent];
  machineStatusChanged: [MachineStatusEvent];
  orderReleased: [{ site: string; payload: Record<string, unknown> }];
  accepted: [CanonicalEvent];
  /** A new configuration revision of a site was loaded from Odoo. */
  configChanged: [SiteConfig];
}

/** In-process publish/subscribe between the pipeline and its observers. */
export class Bus extends EventEmitter<BusEvents> {
  constructor() {
    super({ captureRejections: true });
    this.setMaxListeners(1000);
  }
}
