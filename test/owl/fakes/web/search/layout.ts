import { Component, xml } from "@odoo/owl";

/** Fake of Odoo's Layout: renders the control panel slots then the content, like web.Layout. */
export class Layout extends Component {
  static override template = xml`
    <div class="o_control_panel">
      <div class="o_control_panel_main_buttons"><t t-slot="control-panel-create-button"/></div>
      <div class="o_control_panel_actions"><t t-slot="layout-actions"/></div>
    </div>
    <main class="o_content" t-att-class="props.className"><t t-slot="default"/></main>`;
  static override props = {
    className: { type: String, optional: true },
    display: { type: Object, optional: true },
    slots: { type: Object, optional: true },
  };
}
