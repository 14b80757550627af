/**
 * What the legacy suites share: a real store and ingestor, a pull context on the canonical-rows
 * mapper, and readers of what ended up in the store.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEventChecker } from "../../sidecar/src/canonical/parse.js";
import { createCanonicalRowMapper, type RowMapper } from "../../sidecar/src/ingress/legacy/rows.js";
import type { PullContext } from "../../sidecar/src/ingress/legacy/pull.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { createMetrics } from "../../sidecar/src/metrics.js";
import { Bus } from "../../sidecar/src/pipeline/bus.js";
import { createIngestor, type Ingestor } from "../../sidecar/src/pipeline/ingestor.js";
import { openStore } from "../../sidecar/src/store/index.js";
import type { DeadLetter, MessageRow, Store } from "../../sidecar/src/store/types.js";

export interface LegacyHarness {
  store: Store;
  ingestor: Ingestor;
  ctx: PullContext;
  messages(): Promise<MessageRow[]>;
  deadLetters(): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

export function tempDir(prefix = "pb-legacy-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function legacyHarness(
  options: { store?: string; site?: string; timezone?: string; mapper?: RowMapper } = {},
): Promise<LegacyHarness> {
  const store = await openStore(options.store ?? ":memory:");
  const logger = createLogger({ level: "silent" });
  const ingestor = createIngestor({
    store,
    metrics: createMetrics({ defaultMetrics: false }),
    logger,
    bus: new Bus(),
  });
  const ctx: PullContext = {
    site: options.site ?? "main",
    timezone: options.timezone ?? "Europe/Berlin",
    ingestor,
    mapper: options.mapper ?? createCanonicalRowMapper({ check: createEventChecker() }),
    logger,
  };
  return {
    store,
    ingestor,
    ctx,
    messages: async () =>
      (await store.listMessages({ limit: 1_000_000 })).sort((a, b) => a.seq - b.seq),
    deadLetters: async () =>
      (await store.listDeadLetters({ limit: 100_000 })).sort((a, b) => a.id - b.id),
    close: async () => {
      await ingestor.flush();
      await store.close();
    },
  };
}
