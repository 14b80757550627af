import type { Server } from "node:net";
import { ConfigError } from "./errors.js";

/** What a port is for and how the operator moves it, for the one-line message of a taken port. */
export interface ListenOptions {
  port: number;
  host: string;
  /** What listens there, e.g. "the embedded MQTT broker". */
  what: string;
  /** The fix, e.g. "set PLANT_BRIDGE_MQTT_PORT to a free port". */
  fix: string;
}

/**
 * The port is taken (or not allowed): a configuration error whose message is the whole answer, so
 * the CLI prints it as one line instead of a stack trace (a first run on a machine that already
 * runs a broker on 1883 must say what to change).
 */
export class PortUnavailableError extends ConfigError {
  constructor(message: string, cause: unknown) {
    super("port_unavailable", message, { cause });
    this.name = "PortUnavailableError";
  }
}

/** `server.listen`, resolved once listening; a taken or forbidden port rejects with the fix. */
export async function listen(server: Server, options: ListenOptions): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = `${options.host}:${options.port}`;
      if (err.code === "EADDRINUSE")
        reject(
          new PortUnavailableError(
            `port ${options.port} (${where}) for ${options.what} is already in use by another program: ${options.fix}`,
            err,
          ),
        );
      else if (err.code === "EACCES" || err.code === "EADDRNOTAVAIL")
        reject(
          new PortUnavailableError(
            `cannot listen on ${where} for ${options.what} (${err.code}): ${options.fix}`,
            err,
          ),
        );
      else reject(err);
    };
    server.once("error", onError);
    server.listen(options.port, options.host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}
