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
  /**
   * Largest MQTT packet a client may send; a larger declared length closes the connection as
   * soon as the fixed header is read, before any of it is buffered. @default 320 KiB
   */
  maxPacketBytes?: number;
  logger: Logger;
}

/** What aedes' client exposes of its mqtt-packet parser (aedes 1.2, pinned). */
interface ParsingClient {
  _parser: { parse(buf: Buffer): unknown; packet: { length: number } };
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
  // mqtt-packet has no packet size limit: a CONNECT declaring 256 MiB was buffered as it came,
  // before any authentication. The declared length is known once the fixed header is parsed.
  const maxPacket = options.maxPacketBytes ?? 320 * 1024;
  const server = net.createServer((socket) => {
    const client = broker.handle(socket) as unknown as ParsingClient;
    const parser = client._parser;
    const parse = parser.parse.bind(parser);
    parser.parse = (buf) => {
      if (socket.destroyed) return undefined;
      const result = parse(buf);
      if (parser.packet.length > maxPacket) {
        logger.warn(
          { from: socket.remoteAddress, declared: parser.packet.length, max: maxPacket },
          "embedded broker: packet over the size limit, connection closed",
        );
        socket.destroy();
      }
      return result;
    };
  });
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
