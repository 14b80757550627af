/**
 * A circuit breaker per mapping version. Arrival order means a message waits for the
 * evaluations of the messages before it: a version whose evaluations never finish (out of time
 * twice in a row, or its worker terminated) would hold everything back, message after message.
 * Stopped `stopsBeforeSuspension` times within `suspendForMs`, it is suspended that long: its
 * messages become `mapping_error` dead letters at once, replayable once the mapping is fixed.
 */
import type { EvaluationOutcome } from "../../mapping-core/contract.js";
import type { Logger } from "../../logger.js";
import { versionLabel, type MappingDefinition } from "./definition.js";

export interface BreakerOptions {
  logger: Logger;
  now: () => number;
  /** @default 3 */
  stopsBeforeSuspension?: number;
  /** @default 60000 */
  suspendForMs?: number;
  onSuspend?: (definition: MappingDefinition) => void;
}

export interface Breaker {
  /** The answer for a suspended version's message, else undefined. */
  suspended(definition: MappingDefinition): EvaluationOutcome | undefined;
  /** Records an evaluation that had to be stopped. */
  stopped(definition: MappingDefinition): void;
}

export function createBreaker(options: BreakerOptions): Breaker {
  const { now, logger } = options;
  const limit = options.stopsBeforeSuspension ?? 3;
  const suspendForMs = options.suspendForMs ?? 60_000;
  const stops = new Map<string, number[]>();
  const suspendedUntil = new Map<string, number>();
  return {
    suspended(definition) {
      const until = suspendedUntil.get(versionLabel(definition)) ?? 0;
      if (until <= now()) return undefined;
      return {
        ok: false,
        code: "mapping_error",
        stage: "expression",
        message: `suspended until ${new Date(until).toISOString()}: its evaluations had to be stopped ${limit} times`,
      };
    },
    stopped(definition) {
      const label = versionLabel(definition);
      const t = now();
      const recent = (stops.get(label) ?? []).filter((s) => s > t - suspendForMs);
      recent.push(t);
      stops.set(label, recent);
      if (recent.length < limit) return;
      stops.delete(label);
      suspendedUntil.set(label, t + suspendForMs);
      options.onSuspend?.(definition);
      logger.error(
        { mapping: label, name: definition.name, until: new Date(t + suspendForMs).toISOString() },
        "mapping suspended: its evaluations do not finish; its messages are dead-lettered",
      );
    },
  };
}
