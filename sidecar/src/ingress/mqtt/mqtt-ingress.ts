import type { MqttRoute } from "../../contracts/mqtt.js";
import mqtt, { type IClientOptions, type MqttClient, type Packet } from "mqtt";
import type { Logger } from "../../logger.js";
import type { Metrics } from "../../metrics.js";
import type { Quarantine } from "../../pipeline/quarantine.js";
import { restoreDottedTopic, topicMatches } from "../../canonical/topics.js";

type SendPacket = (packet: Packet, cb?: () => void, ...rest: unknown[]) => void;

export interface MqttIngressOptions {
  url: string;
  /** Stable client id: the broker keeps this sidecar's session (and its queued messages) by it. */
  clientId: string;
  username?: string;
  password?: string;
  /**
   * 5 for brokers that speak MQTT 5 (session expiry), 4 for 3.1.1-only brokers; "auto" tries 5
   * and falls back to 3.1.1 for good when the broker refuses it (a CONNACK "unacceptable protocol
   * version", as NATS answers, or a close before any CONNACK, as RabbitMQ 3.10 does). @default 5
   */
  protocolVersion?: 4 | 5 | "auto";
  /** TLS to the broker (`mqtts://`): a private CA and a client certificate. @default none */
  tls?: MqttTls;
  /** How long the broker keeps the session while the sidecar is away (MQTT 5). @default 604800 */
  sessionExpirySeconds?: number;
  routes: MqttRoute[];
  logger: Logger;
  /** @default 1000 */
  reconnectPeriodMs?: number;
  /** Most messages received and not yet acknowledged (waiting for their commit). @default 1000 */
  maxUnacked?: number;
  /**
   * Where a message whose route fails goes (an `internal` dead letter, so that the next message
   * flows), with the site of dead letters whose route names none. Without it a failing message
   * is not acknowledged and comes again (only right for store failures). @default none
   */
  quarantine?: { settle: Quarantine; site: string };
  /** Longest wait before reconnecting while the store holds input back. @default 30000 */
  maxHoldBackMs?: number;
  metrics?: Pick<Metrics, "ingestHeld">;
  /**
   * A retained presence message (the Sparkplug primary host's STATE): `online` published at QoS 1
   * on every connect, `offline` as the connection's will (the broker publishes it if the sidecar
   * dies) and published on a graceful close. @default none
   */
  presence?: { topic: string; online: string; offline: string };
  /**
   * Not connected at start: `resume()` connects (a standby of an ingest group, README "Scale
   * out"). @default false
   */
  suspended?: boolean;
  /**
   * Checked before each message is handed to its route: false means another sidecar may own
   * this session now, so the message is neither committed nor acknowledged and the connection
   * is dropped (`suspend()`). @default always true
   */
  fence?: () => boolean;
}

/** PEM contents (not paths) for a TLS connection to the broker. */
export interface MqttTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export interface MqttIngress {
  readonly client: MqttClient;
  /** The MQTT version in use (after an "auto" fallback, 4). */
  protocolVersion(): 4 | 5;
  /**
   * The code of the last connection failure (`ERR_SSL_...`, `ECONNREFUSED`, `CONNACK 5`...) until
   * a connection succeeds.
   */
  lastError(): string | undefined;
  /** Resolves once connected and subscribed. */
  ready(): Promise<void>;
  isConnected(): boolean;
  /** Replaces the routes, subscribing to new filters and unsubscribing from dropped ones. */
  setRoutes(routes: MqttRoute[]): Promise<void>;
  /**
   * Drops the connection at once, without acknowledging what is not acknowledged yet (the
   * broker keeps the session and redelivers it to the next holder of the client id).
   */
  suspend(): Promise<void>;
  /** Connects (again) after `suspend()` or a suspended start. */
  resume(): void;
  /** Whether the intake is suspended (not connected on purpose). */
  isSuspended(): boolean;
  /** Stops intake, waits for the message being committed, then disconnects. */
  close(): Promise<void>;
}

/**
 * Subscribes at QoS 1 on a persistent session and acknowledges each message (PUBACK) only after
 * its route has made it durable, in arrival order, with commits of consecutive messages grouped.
 */
export function startMqttIngress(options: MqttIngressOptions): MqttIngress {
  const { logger } = options;
  const asked = options.protocolVersion ?? 5;
  const auto = asked === "auto";
  let protocolVersion: 4 | 5 = asked === "auto" ? 5 : asked;
  let lastError: string | undefined;
  let routes = options.routes;
  const reconnectPeriod = options.reconnectPeriodMs ?? 1000;
  /** Store failures in a row: each one waits longer before the broker is asked again. */
  let holdBacks = 0;
  let subscribed = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let closing = false;
  let suspended = options.suspended ?? false;

  const clientOptions: IClientOptions = {
    clientId: options.clientId,
    clean: false,
    protocolVersion,
    reconnectPeriod,
    connectTimeout: 10_000,
    keepalive: 30,
    resubscribe: true,
    manualConnect: true,
    // A refused CONNACK (credentials, protocol version) is tried again: the operator fixes the
    // broker side and the sidecar connects without a restart; /readyz says why meanwhile.
    reconnectOnConnackError: true,
    // A v5 publish may carry a topic alias and an empty topic: keep the resolved topic for routing.
    customHandleAcks: (topic, _message, packet, done) => {
      if (!packet.topic) packet.topic = topic;
      done(0);
    },
  };
  const presence = options.presence;
  if (presence) {
    clientOptions.will = {
      topic: presence.topic,
      payload: Buffer.from(presence.offline),
      qos: 1,
      retain: true,
    };
  }
  if (options.tls) Object.assign(clientOptions, options.tls);
  if (options.username !== undefined) clientOptions.username = options.username;
  if (options.password !== undefined) clientOptions.password = options.password;
  if (protocolVersion === 5) {
    clientOptions.properties = {
      sessionExpiryInterval: options.sessionExpirySeconds ?? 7 * 24 * 3600,
    };
  }
  const client = mqtt.connect(options.url, clientOptions);

  // Pipelined acknowledgements. mqtt.js reads the next PUBLISH only after handleMessage calls
  // back, and sends the PUBACK from inside that callback: one durable commit per message would
  // cap a connection at the disk's fsync rate (~600/s on this machine class). So the callback runs
  // at once, and the PUBACK it sends is held back until the message's commit resolves. Messages
  // that arrive meanwhile join the next group commit. PUBACKs still go out in arrival order, and
  // never before their message is durable; at most `maxUnacked` commits are pending at a time.
  const maxUnacked = options.maxUnacked ?? 1000;
  let holdPuback: Promise<void> | undefined;
  let unacked = 0;
  let resumePump: (() => void) | undefined;
  const internals = client as unknown as { _sendPacket: SendPacket };
  const sendPacket = internals._sendPacket.bind(client);
  internals._sendPacket = (packet, cb, ...rest) => {
    const hold = holdPuback;
    if (packet.cmd !== "puback" || hold === undefined) return sendPacket(packet, cb, ...rest);
    holdPuback = undefined;
    unacked++;
    const stream = client.stream;
    hold
      .then(
        () => {
          // A PUBACK belongs to the connection that delivered the message; after a reconnect the
          // broker delivers it again and that copy is acknowledged instead.
          if (client.stream === stream && !stream.destroyed) sendPacket(packet, undefined);
        },
        () => undefined,
      )
      .finally(() => {
        unacked--;
        if (unacked < maxUnacked && resumePump) {
          const resume = resumePump;
          resumePump = undefined;
          resume();
        }
      });
    if (unacked < maxUnacked) cb?.();
    else resumePump = () => cb?.();
  };

  client.handleMessage = (packet, callback) => {
    if (closing || suspended) return; // never acknowledged: the broker redelivers it
    if (options.fence && !options.fence()) {
      logger.warn({ topic: packet.topic }, "not the ingest owner any more: dropping the session");
      void suspend();
      return;
    }
    let topic = packet.topic;
    let route = routes.find((r) => r.filters.some((f) => topicMatches(f.filter, topic)));
    if (!route) {
      // RabbitMQ 3.x hands a dotted topic back with slashes (docs/SCALE.md "Brokers")
      topic = restoreDottedTopic([...subscribed], topic);
      packet.topic = topic;
      route = routes.find((r) => r.filters.some((f) => topicMatches(f.filter, topic)));
    }
    if (!route) {
      callback();
      return;
    }
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const arrivedOn = client.stream;
    // Called synchronously: the sequencer keeps arrival order only for calls made in order.
    const attempt = () => {
      try {
        return route.handle(topic, payload, packet);
      } catch (err) {
        return Promise.reject(err as Error);
      }
    };
    const quarantine = options.quarantine;
    const work = attempt()
      .catch((err: unknown) => {
        if (!quarantine) throw err;
        const ctx = route.context?.(topic) ?? {
          site: quarantine.site,
          source: topic.startsWith("spBv1.0/") ? ("sparkplug" as const) : ("mqtt" as const),
          origin: topic,
        };
        return quarantine.settle(ctx, payload, err, attempt);
      })
      .then(
        () => {
          if (holdBacks > 0) {
            holdBacks = 0;
            client.options.reconnectPeriod = reconnectPeriod;
          }
        },
        (err: unknown) => {
          // Not durable (the store takes nothing): never acknowledge. Drop the connection so the
          // broker redelivers, waiting longer each time while the store stays down. One step of
          // backoff per connection dropped: the other messages that connection delivered fail
          // too, and must not push the wait to its ceiling after a single short outage.
          options.metrics?.ingestHeld.inc({ route: route.name });
          const live = client.stream === arrivedOn && !arrivedOn.destroyed;
          if (live) {
            holdBacks++;
            client.options.reconnectPeriod = Math.min(
              reconnectPeriod * 2 ** Math.min(holdBacks, 16),
              Math.max(options.maxHoldBackMs ?? 30_000, reconnectPeriod),
            );
            logger.error(
              { err, topic, route: route.name, retryInMs: client.options.reconnectPeriod },
              "could not commit an MQTT message; holding input back until the store commits",
            );
            arrivedOn.destroy();
          }
          throw err;
        },
      );
    const tracked: Promise<void> = work.then(
      () => undefined,
      () => undefined,
    );
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
    if (packet.qos === 0) {
      callback();
      return;
    }
    holdPuback = work;
    callback(); // mqtt.js calls _sendPacket(puback) synchronously from here: held above
    holdPuback = undefined;
  };

  let readyResolve!: () => void;
  let readyReject!: (e: unknown) => void;
  const readyPromise = new Promise<void>((resolve, reject) => {
    readyResolve = resolve;
    readyReject = reject;
  });
  readyPromise.catch(() => undefined);

  async function syncSubscriptions(): Promise<void> {
    const wanted = new Map<string, 0 | 1>();
    for (const r of routes) for (const f of r.filters) wanted.set(f.filter, f.qos ?? 1);
    const toAdd = [...wanted].filter(([f]) => !subscribed.has(f));
    const toRemove = [...subscribed].filter((f) => !wanted.has(f));
    // One SUBSCRIBE per filter: a broker that refuses one filter (NATS 2.9 refuses a dot in a
    // topic level, as in Sparkplug's `spBv1.0`) must not cost the others their subscription.
    const refused: string[] = [];
    await Promise.all(
      toAdd.map(([f, qos]) =>
        client.subscribeAsync(f, { qos }).catch((err: unknown) => {
          // a SUBACK refusal (mqtt.js: ErrorWithSubackPacket); anything else is a failure
          if ((err as { packet?: unknown }).packet === undefined) throw err;
          refused.push(f);
          logger.error(
            { filter: f, err: { message: (err as Error).message } },
            "the MQTT broker refused a subscription: nothing on it is received",
          );
        }),
      ),
    );
    if (toRemove.length) await client.unsubscribeAsync(toRemove);
    subscribed = new Set([...wanted.keys()].filter((f) => !refused.includes(f)));
  }

  // "auto": a broker that does not speak MQTT 5 either answers CONNACK 1 (unacceptable protocol
  // version) or drops the connection after our CONNECT without a CONNACK. Either way, before any
  // connection ever succeeded, the next attempt speaks 3.1.1 (a session that never expires).
  let everConnected = false;
  let connectSent = false;
  let socketError = false; // TLS refused, connection reset...: not a question of version
  const fallBack = () => {
    if (!auto || everConnected || protocolVersion !== 5) return;
    protocolVersion = 4;
    client.options.protocolVersion = 4;
    delete client.options.properties;
    logger.warn(
      { url: redactUrl(options.url) },
      "the MQTT broker refused MQTT 5: speaking MQTT 3.1.1 (the session never expires)",
    );
  };
  client.on("packetsend", (packet) => {
    if (packet.cmd === "connect") connectSent = true;
  });
  client.on("close", () => {
    if (connectSent && !socketError) fallBack();
    connectSent = false;
    socketError = false;
  });

  client.on("connect", (connack) => {
    everConnected = true;
    lastError = undefined;
    logger.info(
      { url: redactUrl(options.url), sessionPresent: connack.sessionPresent, protocolVersion },
      "MQTT connected",
    );
    syncSubscriptions().then(readyResolve, (err: unknown) => {
      logger.error({ err }, "MQTT subscribe failed");
      readyReject(err);
    });
    if (presence) {
      client
        .publishAsync(presence.topic, presence.online, { qos: 1, retain: true })
        .catch((err: unknown) =>
          logger.warn({ err, topic: presence.topic }, "presence not published"),
        );
    }
  });
  client.on("reconnect", () => logger.debug("MQTT reconnecting"));
  client.on("offline", () => logger.warn("MQTT offline; the broker keeps our session"));
  client.on("error", (err) => {
    const code = (err as { code?: unknown }).code;
    if (code === 1) fallBack(); // CONNACK "unacceptable protocol version"
    if (typeof code === "string") socketError = true;
    // A code only (/readyz needs no token): the message may name hosts; the log has it.
    lastError =
      typeof code === "string" ? code : code === undefined ? "error" : `CONNACK ${String(code)}`;
    logger.warn({ err: { message: err.message, code } }, "MQTT error");
  });
  if (!suspended) client.connect();
  let connectedOnce = !suspended;

  async function suspend(): Promise<void> {
    suspended = true;
    // force: no DISCONNECT wait, no PUBACK for what is still being committed
    await client.endAsync(true).catch(() => undefined);
  }

  return {
    client,
    protocolVersion: () => protocolVersion,
    lastError: () => lastError,
    ready: () => readyPromise,
    isConnected: () => client.connected,
    suspend,
    isSuspended: () => suspended,
    resume() {
      if (closing || !suspended) return;
      suspended = false;
      if (!connectedOnce) {
        connectedOnce = true;
        client.connect();
      } else client.reconnect();
    },
    async setRoutes(next) {
      routes = next;
      if (client.connected) await syncSubscriptions();
    },
    async close() {
      // Offline first, while incoming packets (its PUBACK among them) are still read; never
      // longer than 2 s: the will covers a broker that does not answer.
      if (presence && client.connected) {
        await Promise.race([
          client.publishAsync(presence.topic, presence.offline, { qos: 1, retain: true }),
          new Promise((resolve) => setTimeout(resolve, 2000).unref()),
        ]).catch((err: unknown) => logger.warn({ err }, "offline presence not published"));
      }
      closing = true;
      await Promise.all(inFlight);
      await client.endAsync(suspended);
    },
  };
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:[redacted]@");
}
