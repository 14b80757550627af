import { randomBytes } from "node:crypto";
import net from "node:net";
import { Aedes } from "aedes";
import type { Logger } from "../../logger.js";
import { listen } from "../../listen.js";
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
  /**
   * Client ids only the sidecar itself may take (its ingress, which also publishes commands and
   * the Sparkplug STATE). They must present the broker's own `sidecarCredentials`. @default none
   */
  sidecarClientIds?: string[];
  /** Sites whose `plant-bridge/v1/<site>/events` devices may publish to. @default every site */
  sites?: string[];
  logger: Logger;
}

/** What aedes' client exposes of its mqtt-packet parser (aedes 1.2, pinned). */
interface ParsingClient {
  _parser: { parse(buf: Buffer): unknown; packet: { length: number } };
}

export interface EmbeddedBroker {
  readonly port: number;
  readonly url: string;
  /** What the sidecar's own clients present (a secret made at each start, never configured). */
  readonly sidecarCredentials: { username: string; password: string };
  close(): Promise<void>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);
const SIDECAR_USER = "plant-bridge-sidecar";

/** Why a device may not publish to `topic`, or undefined when it may. */
function refusedTopic(topic: string, sites: Set<string> | undefined): string | undefined {
  const level = topic.split("/");
  if (level[0] === "plant-bridge" && level[1] === "v1") {
    if (level[3] !== "events" || level.length !== 4) return "only the sidecar publishes there";
    if (sites && !sites.has(level[2]!)) return `site ${level[2]} is not served here`;
    return undefined;
  }
  if (
    level[0] === "spBv1.0" &&
    (level[1] === "STATE" || level[2] === "NCMD" || level[2] === "DCMD")
  )
    return "Sparkplug commands and the primary host state are the sidecar's";
  return undefined;
}

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
  const sidecarCredentials = {
    username: SIDECAR_USER,
    password: randomBytes(24).toString("base64url"),
  };
  const sidecarIds = new Set(options.sidecarClientIds ?? []);
  /** Clients that authenticated as the sidecar itself. */
  const trusted = new WeakSet<object>();
  const sidecarPass = Buffer.from(sidecarCredentials.password);
  const user = hasCredentials ? Buffer.from(options.username!) : undefined;
  const pass = hasCredentials ? Buffer.from(options.password!) : undefined;
  broker.authenticate = (client, username, password, done) => {
    if (username === SIDECAR_USER) {
      // The sidecar's own client: its secret, and one of its client ids.
      const ok =
        password !== undefined &&
        safeEqual(Buffer.from(password), sidecarPass) &&
        sidecarIds.has(client.id);
      if (ok) trusted.add(client);
      return done(null, ok);
    }
    // Nobody else takes the sidecar's client id (it would take its session and its commands).
    if (sidecarIds.has(client.id)) return done(null, false);
    if (!user || !pass) return done(null, true);
    done(
      null,
      username !== undefined &&
        password !== undefined &&
        safeEqual(Buffer.from(username), user) &&
        safeEqual(Buffer.from(password), pass),
    );
  };
  // Devices publish events (canonical topics of the sidecar's sites, mapped topics, Sparkplug
  // data); commands, Sparkplug NCMD / DCMD and the primary host STATE are the sidecar's.
  const sites = options.sites ? new Set(options.sites) : undefined;
  broker.authorizePublish = (client, packet, done) => {
    if (client && trusted.has(client)) return done(null);
    const refused = refusedTopic(packet.topic, sites);
    if (!refused) return done(null);
    logger.warn(
      { client: client?.id, topic: packet.topic.slice(0, 200), why: refused },
      "embedded broker: publish refused",
    );
    done(new Error(`publish to ${packet.topic.slice(0, 200)} refused: ${refused}`));
  };
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
  await listen(server, {
    port: options.port,
    host: options.host,
    what: "the embedded MQTT broker",
    // most often another broker (Mosquitto) already runs there: the sidecar can use it instead
    fix: `set PLANT_BRIDGE_MQTT_PORT to a free port, or PLANT_BRIDGE_MQTT_URL=mqtt://${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.port} to use the broker that runs there`,
  }).catch(async (err: unknown) => {
    await new Promise<void>((resolve) => broker.close(() => resolve()));
    throw err;
  });
  const address = server.address() as net.AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  logger.info({ host: address.address, port: address.port }, "embedded MQTT broker listening");
  return {
    port: address.port,
    url: `mqtt://${host}:${address.port}`,
    sidecarCredentials,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
