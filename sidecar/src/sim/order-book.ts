/**
 * What the simulated plant does with the orders Odoo releases: which order a machine works on,
 * in which order it reports a unit (consumption then production, or production first), and when
 * it finishes — at the order's quantity, or one unit short leaving a backorder whose release it
 * then follows under the order key it already reports under. People work the order's first
 * operation: the first operator sets it up, then runs it, a second joins; the first finishes it
 * before the order's finish (`labor`, `workorder_status` with `operator`). Pure decisions, no
 * I/O: the simulator publishes what this returns.
 */
import type {
  CanonicalEvent,
  ConsumptionEvent,
  LaborEvent,
  ProductionEvent,
  WorkorderStatusEvent,
} from "../canonical/types.js";
import { canSupply, componentsOf, takeForUnit, usedKey, type SimComponent } from "./components.js";

/**
 * How the plant reports an order:
 * - `consume_first`: each unit's components, then the unit (the finish with the last unit);
 * - `produce_first`: each unit, then its components (the order is finished after the last
 *   unit's components, by a `production` of 0 with `finish`): Odoo has proposed the components
 *   when the unit arrives, the plant's consumption replaces the proposal;
 * - `short_finish`: like `consume_first`, but the finish comes one unit short with `backorder`:
 *   Odoo closes the order and releases a backorder for the rest, which the plant then produces.
 */
export type Story = "consume_first" | "produce_first" | "short_finish";

/** The stories given to successive releases, in turn. */
export const STORIES: readonly Story[] = ["consume_first", "produce_first", "short_finish"];

/** An order the simulated plant works on. */
export interface SimOrder {
  /** The order key the plant reports under (a backorder: the key of the order it continues). */
  reportAs: string;
  /** Lot and serial names are made from it: the order's current name in Odoo. */
  tag: string;
  quantity: number;
  produced: number;
  tracking: string;
  story: Story;
  /** Components, per unit produced, with the lots to take them from (components.ts). */
  components: SimComponent[];
  /** What the plant consumed of each component's lot so far (components.ts `usedKey`). */
  consumed: Map<string, number>;
  /** The work order the operators clock on (the release's first operation), if any. */
  operation?: string;
  /** The work center of that operation: nobody works there while its machine is stopped. */
  workcenter?: string;
}

/** The envelope of a new event (id, site, time) of a type. */
export type NewEnvelope = (type: CanonicalEvent["type"]) => {
  id: string;
  type: CanonicalEvent["type"];
  site: string;
  occurredAt: string;
};

export interface OrderBookOptions {
  /** Distinguishes this run's lot and serial names from another run's. */
  run: string;
  /** @default Math.random */
  random?: () => number;
  /** The stories of successive releases, in turn. @default STORIES */
  stories?: readonly Story[];
  /**
   * Badges of the two operators who work the orders (Odoo users with these Plant Badges; the
   * addon's demo data gives them to its demo users). @default DEMO_OPERATORS
   */
  operators?: readonly [string, string];
}

/** The badges the addon's demo data gives the admin and the demo user. */
export const DEMO_OPERATORS: readonly [string, string] = ["B-0001", "B-0002"];
/** How long the simulated setup of a work order takes, in ms. */
const SETUP_MS = 30_000;

export interface OrderBook {
  /** Takes a command from Odoo (release, change, cancel, done); returns whether it was one. */
  follow(command: Record<string, unknown>): boolean;
  /** Reports against an order Odoo did not release (produced without end). */
  add(order: string): void;
  /**
   * The events of one more unit of one of the open orders (picked at random among those `ready`
   * says can be worked on now); [] when none.
   */
  produce(envelope: NewEnvelope, ready?: (order: SimOrder) => boolean): CanonicalEvent[];
  /** The open order released under this key. */
  get(order: string): SimOrder | undefined;
  readonly size: number;
}

/** The release's first operation (by sequence) with its work center, if it has one. */
function firstOperation(
  command: Record<string, unknown>,
): { name: string; workcenter?: string } | undefined {
  const operations = Array.isArray(command.operations) ? (command.operations as unknown[]) : [];
  const named = operations
    .map((o) => (o ?? {}) as Record<string, unknown>)
    .filter((o) => typeof o.name === "string" && o.name !== "")
    .sort((a, b) => Number(a.sequence ?? 0) - Number(b.sequence ?? 0));
  const first = named[0];
  if (!first) return undefined;
  return {
    name: first.name as string,
    ...(typeof first.workcenter === "string" && { workcenter: first.workcenter }),
  };
}

/** How many closed keys are remembered for the backorders that may follow them. */
const MAX_CLOSED = 1000;

export function createOrderBook(options: OrderBookOptions): OrderBook {
  const random = options.random ?? Math.random;
  const stories = options.stories ?? STORIES;
  const [lead, helper] = options.operators ?? DEMO_OPERATORS;
  const orders = new Map<string, SimOrder>();
  /** Keys the plant finished short → the key it reported them under. */
  const closed = new Map<string, string>();
  let releases = 0;
  let serials = 0;

  function close(key: string, order: SimOrder): void {
    orders.delete(key);
    closed.set(key, order.reportAs);
    if (closed.size > MAX_CLOSED) closed.delete(closed.keys().next().value!);
  }

  function follow(command: Record<string, unknown>): boolean {
    const key = typeof command.order === "string" ? command.order : undefined;
    if (!key) return false;
    if (command.type === "order_cancel" || command.type === "order_done") {
      // cancelled, or closed in Odoo: the plant stops working on it
      const order = orders.get(key);
      if (order) close(key, order);
      return true;
    }
    if (command.type !== "order_release" && command.type !== "order_change") return false;
    const quantity = Number(command.quantity);
    if (!(quantity > 0)) return false;
    const known = orders.get(key);
    const tracking = typeof command.tracking === "string" ? command.tracking : "none";
    const parent = typeof command.backorder_of === "string" ? command.backorder_of : undefined;
    const operation = firstOperation(command);
    let story = known?.story;
    if (!story) {
      // a backorder is produced to its end; other releases take the stories in turn
      story = parent ? "consume_first" : stories[releases++ % stories.length]!;
    }
    const consumed = known?.consumed ?? new Map<string, number>();
    orders.set(key, {
      reportAs: known?.reportAs ?? (parent ? (closed.get(parent) ?? parent) : key),
      tag: typeof command.name === "string" ? command.name : key,
      quantity,
      produced: known?.produced ?? 0,
      tracking,
      story,
      components: componentsOf(command, quantity, consumed),
      consumed,
      ...(operation && { operation: operation.name }),
      ...(operation?.workcenter !== undefined && { workcenter: operation.workcenter }),
    });
    return true;
  }

  /**
   * Before the first unit: the lead operator sets the work order up (a closed interval ending
   * now minus nothing: the run starts where the setup ends), then runs it; the helper joins.
   */
  function clockOn(order: SimOrder, operation: string, envelope: NewEnvelope): LaborEvent[] {
    const head = envelope("labor");
    const now = Date.parse(head.occurredAt);
    const setupEnd = new Date(now - 1000).toISOString();
    const common = { order: order.reportAs, operation };
    return [
      {
        ...head,
        type: "labor",
        ...common,
        operator: lead,
        kind: "setup",
        start: new Date(now - 1000 - SETUP_MS).toISOString(),
        end: setupEnd,
      },
      {
        ...envelope("labor"),
        type: "labor",
        ...common,
        operator: lead,
        kind: "run",
        start: setupEnd,
      },
      {
        ...envelope("labor"),
        type: "labor",
        ...common,
        operator: helper,
        kind: "run",
        action: "clock_on",
      },
    ];
  }

  /** After the last unit: the lead operator finishes the work order (its timers all end). */
  function finishOperation(
    order: SimOrder,
    operation: string,
    envelope: NewEnvelope,
  ): WorkorderStatusEvent {
    return {
      ...envelope("workorder_status"),
      type: "workorder_status",
      order: order.reportAs,
      operation,
      status: "finished",
      operator: lead,
    };
  }

  function produce(
    envelope: NewEnvelope,
    ready: (order: SimOrder) => boolean = () => true,
  ): CanonicalEvent[] {
    // a tracked component with no lot or serial left to take: the order waits for its material
    const keys = [...orders.keys()].filter(
      (k) => ready(orders.get(k)!) && orders.get(k)!.components.every(canSupply),
    );
    if (keys.length === 0) return [];
    const key = keys[Math.floor(random() * keys.length)]!;
    const order = orders.get(key)!;
    order.produced += 1;
    const short = order.story === "short_finish" && order.quantity >= 2;
    const end = short ? order.quantity - 1 : order.quantity;
    const last = order.produced >= end;
    if (last) close(key, order);
    const tag = order.tag.replace(/\W+/g, "-");
    const lot =
      order.tracking === "serial"
        ? `SIM-${tag}-${options.run}-${++serials}`
        : order.tracking === "lot"
          ? `SIM-${tag}-${options.run}`
          : undefined;
    const consumed = order.components.flatMap((c) =>
      takeForUnit(c).map((take): ConsumptionEvent => {
        if (take.lot !== undefined) {
          const used = usedKey(c.product, take.lot);
          order.consumed.set(used, (order.consumed.get(used) ?? 0) + take.quantity);
        }
        return {
          ...envelope("consumption"),
          type: "consumption",
          order: order.reportAs,
          product: c.product,
          quantity: take.quantity,
          ...(take.lot !== undefined && { lot: take.lot }),
        };
      }),
    );
    const unit = (finish: boolean): ProductionEvent => ({
      ...envelope("production"),
      type: "production",
      order: order.reportAs,
      quantity: 1,
      ...(lot !== undefined && { lot }),
      ...(finish && { finish: true }),
      ...(finish && short && { backorder: true }),
    });
    const operation = order.operation;
    const before = operation && order.produced === 1 ? clockOn(order, operation, envelope) : [];
    const done = operation && last ? [finishOperation(order, operation, envelope)] : [];
    if (order.story !== "produce_first") return [...before, ...consumed, ...done, unit(last)];
    const events: CanonicalEvent[] = [...before, unit(false), ...consumed, ...done];
    if (last)
      events.push({
        ...envelope("production"),
        type: "production",
        order: order.reportAs,
        quantity: 0,
        finish: true,
      });
    return events;
  }

  return {
    follow,
    add(order) {
      orders.set(order, {
        reportAs: order,
        tag: order,
        quantity: Infinity,
        produced: 0,
        tracking: "none",
        story: "consume_first",
        components: [],
        consumed: new Map(),
      });
    },
    produce,
    get: (order) => orders.get(order),
    get size() {
      return orders.size;
    },
  };
}
