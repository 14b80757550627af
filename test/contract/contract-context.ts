import type { LeaseOptions, OutboxRow, Store } from "../../sidecar/src/store/types.js";
import { T0 } from "./fixtures.js";

export interface ContractContext {
  /** The store of the running test (a fresh, empty one per test). */
  store: Store;
  /** `store.lease` with the contract's defaults: limit 100, now T0, a one-minute lease. */
  lease(owner: string, limit?: number, now?: number, leaseMs?: number): Promise<OutboxRow[]>;
}

/**
 * Opens a fresh store before each test and closes it after. `store` forwards to the current
 * test's store, so the contract sections can be written as plain `store.ingest(...)` calls.
 */
export function createContractContext(open: () => Promise<Store>): ContractContext {
  let current: Store | undefined;
  beforeEach(async () => {
    current = await open();
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  const store = new Proxy({} as Store, {
    get(_target, property) {
      if (!current) throw new Error("the store is only open inside a test");
      const value: unknown = Reflect.get(current, property);
      return typeof value === "function" ? value.bind(current) : value;
    },
  });
  const lease = (owner: string, limit = 100, now = T0, leaseMs = 60_000) =>
    store.lease({ owner, limit, now, leaseMs } satisfies LeaseOptions);
  return { store, lease };
}

export const ids = (rows: { eventId: string }[]) => rows.map((r) => r.eventId);
