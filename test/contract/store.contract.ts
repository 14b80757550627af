/**
 * One contract for every `Store` implementation (STYLE.md "One abstract suite per interface").
 * Each test gets a fresh, empty store from the factory and asserts what a user would check:
 * the answers, the rows the trace shows, the dead letters, the stats.
 */
import type { Store } from "../../sidecar/src/store/types.js";
import { createContractContext } from "./contract-context.js";
import { deadLetterContract } from "./dead-letters.contract.js";
import { ingestContract } from "./ingest.contract.js";
import { inputContract } from "./input.contract.js";
import { heldContract, lanesContract } from "./lanes.contract.js";
import { leaseContract } from "./lease.contract.js";
import { stateContract } from "./state.contract.js";
import { traceContract } from "./trace.contract.js";

export function defineStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`${name} store contract`, () => {
    const context = createContractContext(open);
    ingestContract(context);
    leaseContract(context);
    lanesContract(context);
    heldContract(context);
    deadLetterContract(context);
    traceContract(context);
    inputContract(context);
    stateContract(context);
  });
}
