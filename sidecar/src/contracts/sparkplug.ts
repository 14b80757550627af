/** A Sparkplug B birth certificate: what the host proposes to Odoo as a machine ↔ work center binding (`report_bindings`). */
export interface Birth {
  group: string;
  edge: string;
  device: string | null;
  /** The metrics it declared, with their Sparkplug data type names (`Int32`, `String`...). */
  metrics: Array<{ name: string; datatype: string | null }>;
  at: number;
}
