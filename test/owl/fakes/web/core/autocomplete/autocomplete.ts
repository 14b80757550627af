import { Component, useState, xml } from "@odoo/owl";

interface Option {
  label: string;
  onSelect?: () => void;
}

/** Fake of Odoo's AutoComplete: an input that lists the first source's options as buttons. */
export class AutoComplete extends Component {
  static override template = xml`
    <div class="o-autocomplete">
      <input class="o-autocomplete--input" t-att-placeholder="props.placeholder" t-att-value="props.value" t-on-input="onInput"/>
      <ul class="o-autocomplete--dropdown-menu">
        <li t-foreach="state.options" t-as="o" t-key="o_index">
          <button class="o-autocomplete--option" t-on-click="() => o.onSelect and o.onSelect()" t-esc="o.label"/>
        </li>
      </ul>
    </div>`;
  static override props = ["*"];
  state = useState({ options: [] as Option[] });

  async onInput(ev: Event) {
    const sources = (this.props as { sources: { options: (q: string) => Promise<Option[]> }[] })
      .sources;
    this.state.options = await sources[0]!.options((ev.target as HTMLInputElement).value);
  }
}
