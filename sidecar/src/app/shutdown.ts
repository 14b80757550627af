/**
 * What every feature module of app/ returns: what it started, with its `close`. The sidecar
 * closes them in the reverse order of their start (serving first, the store last).
 */
import type { Logger } from "../logger.js";

export interface Closable {
  close(): Promise<void>;
}

export interface ShutdownStack {
  /** Registers a started part; returns it. */
  add<T extends Closable>(part: T): T;
  /** Closes everything added, last first; a failing step is logged and the rest go on. */
  closeAll(): Promise<void>;
}

export function createShutdownStack(logger: Logger): ShutdownStack {
  const parts: Closable[] = [];
  return {
    add(part) {
      parts.push(part);
      return part;
    },
    async closeAll() {
      for (const part of parts.splice(0).reverse()) {
        await part.close().catch((err: unknown) => logger.warn({ err }, "shutdown step failed"));
      }
    },
  };
}
