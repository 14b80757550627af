import type { MachineStatusEvent } from "../canonical/types.js";
import type { Bus } from "../pipeline/bus.js";

/**
 * The last machine status this sidecar received per (site, work center), as soon as it is
 * durable, before Odoo has it: what `WorkCenter.status` overlays on Odoo's recorded state.
 */
export interface LiveState {
  machine(site: string, keys: Array<string | null>): MachineStatusEvent | undefined;
  close(): void;
}

export function createLiveState(bus: Bus): LiveState {
  const last = new Map<string, MachineStatusEvent>();
  const slot = (site: string, workcenter: string) => `${site}\u0000${workcenter}`;
  const onStatus = (e: MachineStatusEvent) => {
    const key = slot(e.site, e.workcenter);
    const known = last.get(key);
    if (!known || Date.parse(known.occurredAt) <= Date.parse(e.occurredAt)) last.set(key, e);
  };
  bus.on("machineStatusChanged", onStatus);
  return {
    machine(site, keys) {
      let newest: MachineStatusEvent | undefined;
      for (const k of keys) {
        const e = k ? last.get(slot(site, k)) : undefined;
        if (e && (!newest || Date.parse(newest.occurredAt) < Date.parse(e.occurredAt))) newest = e;
      }
      return newest;
    },
    close: () => void bus.off("machineStatusChanged", onStatus),
  };
}
