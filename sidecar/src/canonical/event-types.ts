/**
 * The canonical event types as the other parts of the product see them: the one list
 * (`EVENT_TYPES` in schema.ts), each type's label and description. `npm run codegen` writes it
 * for those that cannot import it — the Odoo addon (`data/event_types.json`: the mapping's
 * target-type selection, which the Mapping Studio reads from Odoo, translated) and the GraphQL
 * schema (`graphql/schema/event-types.graphql`: the `EventType` enum) — and `codegen:check`
 * fails when either is stale. A type added to `EVENT_TYPES` without a label here does not compile.
 */
import { EVENT_TYPES, eventSchemas, type EventType } from "./schema.js";

/** What a person picks a type by (the mapping's "Target Event Type"), in English; Odoo translates. */
export const EVENT_TYPE_LABELS: Readonly<Record<EventType, string>> = {
  production: "Production",
  consumption: "Consumption",
  scrap: "Scrap",
  downtime: "Downtime",
  workorder_status: "Work Order Status",
  labor: "Labor",
  machine_status: "Machine Status",
  quality: "Quality",
  nonconformance: "Nonconformance",
  maintenance: "Maintenance",
  transfer: "Transfer",
  record: "Compliance Record",
};

export interface EventTypeInfo {
  type: EventType;
  label: string;
  /** The type's JSON Schema title: what an event of it reports. */
  description: string;
}

/** Every event type, in the contract's order, with its label and description. */
export function eventTypeCatalog(): EventTypeInfo[] {
  return EVENT_TYPES.map((type) => ({
    type,
    label: EVENT_TYPE_LABELS[type],
    description: eventSchemas[type].title,
  }));
}
