/**
 * What to do about each root cause in the Exception Queue: one sentence per error code and, when
 * Odoo has a screen for the fix, the action that opens it. Codes are the stable ones of
 * ARCHITECTURE.md "What bad input gets"; an unknown code gets no advice rather than a wrong one.
 */
import { _t } from "../core/l10n.js";

export interface SuggestedFix {
  /** What to do, in one sentence. */
  text: string;
  /** The screen where it is done: an action xml id or an action. */
  action?: string | Record<string, unknown>;
  /** The button's label. */
  label?: string;
}

function listOf(resModel: string, name: string): Record<string, unknown> {
  return {
    type: "ir.actions.act_window",
    name,
    res_model: resModel,
    views: [
      [false, "list"],
      [false, "form"],
    ],
  };
}

/** The suggested fix of `code`, or undefined when there is no advice for it. */
export function suggestedFix(code: string | false): SuggestedFix | undefined {
  switch (code) {
    case "unknown_product":
      return {
        text: _t(
          "The plant names a product Odoo does not know: create it, or set its Internal Reference to the plant's code, then retry.",
        ),
        action: listOf("product.product", _t("Products")),
        label: _t("Open Products"),
      };
    case "unknown_workcenter":
      return {
        text: _t(
          "The plant names a work center Odoo does not know: give the work center that code (or that exact name), then retry.",
        ),
        action: listOf("mrp.workcenter", _t("Work Centers")),
        label: _t("Open Work Centers"),
      };
    case "unknown_lot":
      return {
        text: _t(
          "The lot or serial is missing or unknown: create it for the product, or edit the event to name it, then replay.",
        ),
        action: listOf("stock.lot", _t("Lots/Serial Numbers")),
        label: _t("Open Lots"),
      };
    case "unknown_order":
      return {
        text: _t(
          "No manufacturing order has this name (or plant order key): check the order in Odoo or edit the event, then replay.",
        ),
        action: listOf("mrp.production", _t("Manufacturing Orders")),
        label: _t("Open Manufacturing Orders"),
      };
    case "unknown_equipment":
      return {
        text: _t(
          "The equipment is unknown: create it in Maintenance or edit the event, then replay.",
        ),
        action: listOf("maintenance.equipment", _t("Equipment")),
        label: _t("Open Equipment"),
      };
    case "unknown_operator":
      return {
        text: _t(
          "No user of the site's company has this badge or login: give the person that Plant Badge (or an employee that Badge ID), then retry.",
        ),
        action: "plant_bridge.action_plant_bridge_operators",
        label: _t("Open Operators"),
      };
    case "unknown_location":
      return {
        text: _t(
          "The scanned location is no location of the site's warehouse: give the location that barcode (or check its full name), then retry.",
        ),
        action: listOf("stock.location", _t("Locations")),
        label: _t("Open Locations"),
      };
    case "unknown_package":
      return {
        text: _t(
          "No package has the scanned name: create the package or edit the event, then replay.",
        ),
        action: listOf("stock.package", _t("Packages")),
        label: _t("Open Packages"),
      };
    case "unknown_customer":
      return {
        text: _t(
          "The record names a customer Odoo does not know: set the customer's Reference to the plant's code (or use its exact name), then retry.",
        ),
        action: listOf("res.partner", _t("Contacts")),
        label: _t("Open Contacts"),
      };
    case "unknown_picking":
      return {
        text: _t(
          "No transfer of the site's warehouse has this name, or the order has no such step (its warehouse's manufacturing route; for a return: no receipt brought the lot): check the transfers or edit the event, then replay.",
        ),
        action: listOf("stock.picking", _t("Transfers")),
        label: _t("Open Transfers"),
      };
    case "bad_digest":
      return {
        text: _t(
          "The document's SHA-256 is not the one sent: the content changed on the way. Have the plant send it again; do not edit it here.",
        ),
      };
    case "unknown_operation":
      return {
        text: _t(
          "The order has no operation of this name: check the order's work orders or edit the event, then replay.",
        ),
      };
    case "schema":
    case "mapping_error":
    case "invalid_json":
    case "invalid_protobuf":
      return {
        text: _t(
          "The message does not make a valid event: fix the mapping that produced it (or the device), then retry; or edit and replay this one.",
        ),
        action: "plant_bridge.action_mapping_studio",
        label: _t("Open Mapping Studio"),
      };
    case "bad_quantity":
      return {
        text: _t(
          "The quantity cannot be posted (zero, negative, a serial's other than 1, a finish with nothing reported): edit the event and replay, or discard it.",
        ),
      };
    case "state_conflict":
      return {
        text: _t(
          "Odoo's own flow refused it (the order is done or cancelled, the lot is not available...): fix the order in Odoo, then retry; or discard.",
        ),
      };
    case "quality_hold":
      return {
        text: _t("A quality hold blocks this order or lot: release the hold, then retry."),
        action: "plant_bridge.action_plant_bridge_quality_result",
        label: _t("Open Quality Results"),
      };
    case "not_system_of_record":
      return {
        text: _t(
          "Odoo, not the plant, owns this kind of event at this site: change the system-of-record matrix if the plant should report it, then retry.",
        ),
        action: "plant_bridge.action_plant_bridge_sor",
        label: _t("Open System of Record"),
      };
    case "unauthorized":
    case "unknown_site":
      return {
        text: _t(
          "The event names a site its channel may not post to: check the device's site or the site's allowed users.",
        ),
        action: "plant_bridge.action_plant_bridge_site",
        label: _t("Open Sites"),
      };
    case "too_large":
    case "too_complex":
      return {
        text: _t(
          "The message is beyond the limits (size, nesting): split it at the source; the original is kept here.",
        ),
      };
    case "signature":
    case "replayed":
      return {
        text: _t(
          "The webhook's signature or timestamp was refused: check the sender's shared secret and clock.",
        ),
      };
    case "internal":
    case "unexpected":
      return {
        text: _t(
          "A failure of Plant Bridge itself: report it with this message; retry once fixed.",
        ),
      };
    default:
      return undefined;
  }
}
