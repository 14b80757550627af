/** Where the screens send the user: Odoo's own forms and the message trace, filtered. */
import { _t } from "./l10n.js";
import type { ActionService, Domain } from "./services.js";

export function openRecord(action: ActionService, model: string, id: number) {
  return action.doAction({
    type: "ir.actions.act_window",
    res_model: model,
    res_id: id,
    views: [[false, "form"]],
  });
}

/** The message trace (list + form) restricted to `domain`. */
export function openTrace(action: ActionService, domain: Domain, name = _t("Message Trace")) {
  return action.doAction({
    type: "ir.actions.act_window",
    name,
    res_model: "plant_bridge.message",
    views: [
      [false, "list"],
      [false, "form"],
    ],
    domain,
    context: { create: false },
  });
}
