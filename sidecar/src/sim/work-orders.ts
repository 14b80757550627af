/**
 * The work orders of the simulated machines: which released operation each machine runs, and
 * the `workorder_status` events its day gives — started when it takes the operation up,
 * paused when it goes down or into setup (as Odoo's Block ends the running timers), started
 * again when it runs again, finished before the order's finish. Odoo's OEE counts only time
 * logs, and productive ones come from work order timers alone: without these, every demo work
 * center would show an OEE of 0 % however well it ran. Pure decisions, no I/O.
 */
import type { CanonicalEvent, WorkorderStatusEvent } from "../canonical/types.js";
import type { NewEnvelope } from "./order-book.js";

interface Job {
  /** The order key the plant reports the order under. */
  order: string;
  operation: string;
  running: boolean;
}

export interface WorkOrderBook {
  /**
   * Takes a command from Odoo: a release's (or change's) operations on the simulated machines
   * become their jobs under `reportAs` (the key the order book reports the order under); a
   * cancellation or closing drops the order's jobs. `people` names the operation the operators
   * work themselves (order-book.ts: setup, run, finish with `labor` and their badges): no machine
   * runs that one, so no work order has two timers for one person's work.
   */
  follow(command: Record<string, unknown>, reportAs: string, people?: string): void;
  /** The machine runs: its job starts (or starts again); [] when it has none or it runs. */
  run(machine: string, envelope: NewEnvelope): CanonicalEvent[];
  /** The machine stops (down, setup): its running job pauses. */
  stop(machine: string, envelope: NewEnvelope): CanonicalEvent[];
  /** The order is about to be finished: its running jobs finish, the others are dropped. */
  finish(order: string, envelope: (machine: string) => NewEnvelope): CanonicalEvent[];
}

export function createWorkOrderBook(machines: readonly string[]): WorkOrderBook {
  const jobs = new Map<string, Job[]>(machines.map((m) => [m, []]));

  const status = (
    envelope: NewEnvelope,
    job: Job,
    value: WorkorderStatusEvent["status"],
  ): WorkorderStatusEvent => ({
    ...envelope("workorder_status"),
    type: "workorder_status",
    order: job.order,
    operation: job.operation,
    status: value,
  });

  function drop(order: string): void {
    for (const [machine, list] of jobs)
      jobs.set(
        machine,
        list.filter((j) => j.order !== order),
      );
  }

  return {
    follow(command, reportAs, people) {
      if (command.type === "order_cancel" || command.type === "order_done") {
        drop(reportAs);
        return;
      }
      if (command.type !== "order_release" && command.type !== "order_change") return;
      const operations = Array.isArray(command.operations) ? (command.operations as unknown[]) : [];
      for (const op of operations) {
        const { name, workcenter, state } = (op ?? {}) as Record<string, unknown>;
        const list = typeof workcenter === "string" ? jobs.get(workcenter) : undefined;
        if (!list || typeof name !== "string" || state === "done" || state === "cancel") continue;
        if (name === people) continue;
        if (!list.some((j) => j.order === reportAs && j.operation === name))
          list.push({ order: reportAs, operation: name, running: false });
      }
    },
    run(machine, envelope) {
      const job = jobs.get(machine)?.[0];
      if (!job || job.running) return [];
      job.running = true;
      return [status(envelope, job, "started")];
    },
    stop(machine, envelope) {
      const job = jobs.get(machine)?.[0];
      if (!job?.running) return [];
      job.running = false;
      return [status(envelope, job, "paused")];
    },
    finish(order, envelope) {
      const out: CanonicalEvent[] = [];
      for (const [machine, list] of jobs)
        for (const job of list)
          if (job.order === order && job.running)
            out.push(status(envelope(machine), job, "finished"));
      drop(order);
      return out;
    },
  };
}
