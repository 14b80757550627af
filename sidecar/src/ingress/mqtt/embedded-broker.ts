import net from "node:net";
import { Aedes } from "aedes";
import type { Logger } from "../../logger.js";
import { safeEqual } from "../../safe-equal.js";

export interface EmbeddedBrokerOptions {
  /** @default 1883 */
  port: number;
  /** Bind address; only loopback may run without credentials. @default "127.0.0.1" */
  host: string;
  /** When set, every client must present these credentials. */
  username?: string;
  password?: string;
  logger: Logger;
}

export interface EmbeddedBroker {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/**
 * The embedded default: an aedes broker (MQTT 3.1.1) in the sidecar's process when no
 * `PLANT_BRIDGE_MQTT_URL` is set. It is explicitly local unless credentials are configured.
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const { logger } = options;
  const hasCredentials = options.username !== undefined && options.password !== undefined;
  if (!LOOPBACK.has(options.host) && !hasCredentials) {
    throw new Error(
      `the embedded broker binds ${options.host} (not loopback) without credentials: set PLANT_BRIDGE_MQTT_USERNAME and PLANT_BRIDGE_MQTT_PASSWORD, or bind 127.0.0.1`,
    );
  }
  const broker = await Aedes.createBroker({ id: "plant-bridge-embedded" });
  if (hasCredentials) {
    const user = Buffer.from(options.username!);
    const pass = Buffer.from(options.password!);
    broker.authenticate = (_client, username, password, done) => {
      const ok =
        username !== undefined &&
        password !== undefined &&
        safeEqual(Buffer.from(username), user) &&
        safeEqual(Buffer.from(password), pass);
      done(null, ok);
    };
  }
  broker.on("clientError", (client, err) =>
    logger.debug({ client: client.id, err: err.message }, "embedded broker client error"),
  );
  const server = net.createServer(broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  logger.info({ host: address.address, port: address.port }, "embedded MQTT broker listening");
  return {
    port: address.port,
    url: `mqtt://${host}:${address.port}`,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
