/** Every fuzz target by name: what regression files (test/fuzz/regressions/) are replayed on. */
import type { FuzzTarget } from "../harness.js";
import { canonicalParserTarget, canonicalRouteTarget } from "./canonical.js";
import { graphqlTarget } from "./graphql.js";
import { legacyTarget } from "./legacy.js";
import { mappingTarget, sparkplugCodecTarget, sparkplugTarget } from "./mapping.js";
import { webhookTarget } from "./webhook.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const TARGETS: Record<string, () => FuzzTarget<any> | Promise<FuzzTarget<any>>> = {
  "canonical-parser": canonicalParserTarget,
  "canonical-route": canonicalRouteTarget,
  mapping: mappingTarget,
  "sparkplug-codec": sparkplugCodecTarget,
  "sparkplug-route": sparkplugTarget,
  "legacy-file": legacyTarget,
  webhook: webhookTarget,
  graphql: graphqlTarget,
};
