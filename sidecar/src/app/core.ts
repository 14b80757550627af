/**
 * The core every feature shares: the store and its ingestor, metrics, the in-process bus, and
 * the canonical parser and checker with the configured message size limit.
 */
import type { EventChecker, MessageParser } from "../contracts/checkers.js";
import {
  createEventChecker,
  createMessageParser,
  DEFAULT_LIMITS,
  type ParseLimits,
} from "../canonical/parse.js";
import type { Config } from "../config.js";
import type { Logger } from "../logger.js";
import { createMetrics, type Metrics } from "../metrics.js";
import { Bus } from "../pipeline/bus.js";
import { createIngestor, type Ingestor } from "../pipeline/ingestor.js";
import {
  createLocalOwnership,
  createPgOwnership,
  type IngestOwnership,
} from "../scheduler/ownership.js";
import { openStore } from "../store/index.js";
import type { Store } from "../store/types.js";
import type { Closable } from "./shutdown.js";

export interface Core extends Closable {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  bus: Bus;
  store: Store;
  ingestor: Ingestor;
  limits: ParseLimits;
  parse: MessageParser;
  check: EventChecker;
  /**
   * Who ingests (the owner of the ingest group) and which lease holders are alive: PostgreSQL
   * advisory locks on a session of its own; a SQLite store's process always owns.
   */
  ownership: IngestOwnership;
}

export async function openCore(config: Config, logger: Logger): Promise<Core> {
  const metrics = createMetrics();
  const bus = new Bus();
  const store = await openStore(config.store);
  const ingestor = createIngestor({ store, metrics, logger, bus });
  const limits = { ...DEFAULT_LIMITS, maxMessageBytes: config.maxMessageBytes };
  metrics.odooUp.set(0);
  const group = config.ingestGroup;
  const label = { group: group ?? "" };
  const ownership =
    store.kind === "postgres"
      ? createPgOwnership({
          connectionString: config.store,
          name: config.name,
          logger,
          ...(group !== undefined && { group }),
          onRoleChange: (role) => {
            metrics.ingestOwner.set(label, role === "owner" ? 1 : 0);
            metrics.ingestRoleChanges.inc({ ...label, role });
          },
        })
      : createLocalOwnership(group);
  await ownership.settled();
  metrics.ingestOwner.set(label, ownership.role() === "owner" ? 1 : 0);
  return {
    config,
    logger,
    metrics,
    bus,
    store,
    ingestor,
    limits,
    parse: createMessageParser(limits),
    check: createEventChecker(),
    ownership,
    close: async () => {
      await ownership.close();
      await store.close();
    },
  };
}
