/** Fuzz: signed webhook bodies and headers over loopback HTTP into the store. */
import { hostileWebhook } from "./arbitraries.js";
import { fuzzTimeout, runFuzz } from "./harness.js";
import { webhookTarget } from "./targets/webhook.js";

describe("fuzz: signed webhooks", () => {
  it(
    "every request is answered within the contract and each valid event is kept once",
    async () => {
      const target = await webhookTarget();
      try {
        await runFuzz(target, hostileWebhook);
      } finally {
        await target.close();
      }
    },
    fuzzTimeout(),
  );
});
