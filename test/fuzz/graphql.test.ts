/** Fuzz: GraphQL request bodies over loopback HTTP with a valid token, into the store. */
import { hostileGraphql } from "./arbitraries.js";
import { fuzzTimeout, runFuzz } from "./harness.js";
import { graphqlTarget } from "./targets/graphql.js";

describe("fuzz: GraphQL documents", () => {
  it(
    "every request is answered within the contract and each valid event is kept once",
    async () => {
      const target = await graphqlTarget();
      try {
        await runFuzz(target, hostileGraphql);
      } finally {
        await target.close();
      }
    },
    fuzzTimeout(),
  );
});
