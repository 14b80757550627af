/**
 * GraphQL argument and input fields whose name differs in the canonical events and in Odoo's
 * `plant_bridge.api` (one word per concept there: `workcenter`; GraphQL spells it `workCenter`).
 */
const CANONICAL_NAMES: Readonly<Record<string, string>> = { workCenter: "workcenter" };

export function canonicalName(field: string): string {
  return CANONICAL_NAMES[field] ?? field;
}
