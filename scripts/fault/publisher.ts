/**
 * Sequenced QoS 1 publishers: every event's id carries its source and sequence
 * (`pub3-000123`), so a checker can tell exactly what is missing or doubled in the store.
 * A publisher behaves as a QoS 1 client across reconnects: mqtt.js keeps what the broker has not
 * acknowledged and sends it again on reconnect; on top of that, a message not acknowledged within
 * `ackTimeoutMs` is published again (bounded by `maxAttempts`).
 */
import mqtt, { type MqttClient } from "mqtt";

export interface PublisherOptions {
  url: string;
  topic: string;
  site: string;
  /** Names the publisher in every id: `<source>-<sequence>`. */
  source: string;
  /** Sequence numbers to publish, in this order (repeats publish an event again). */
  seqs: number[];
  /** MQTT client id suffix. @default source */
  clientName?: string;
  /** Messages published and not yet acknowledged at a time. @default 50 */
  window?: number;
  /** Events per second; unset: as fast as the window allows. */
  rate?: number;
  /** Re-publish a message not acknowledged after this long. @default 15000 */
  ackTimeoutMs?: number;
  /** @default 20 */
  maxAttempts?: number;
  /** Checked before each publish: true stops the sequence there (`sent` tells how far it got). */
  stop?: () => boolean;
  /** Builds the payload of one sequence number; default: a canonical `scrap` event. */
  payload?: (id: string, seq: number) => string | Buffer;
}

export interface PublisherReport {
  source: string;
  /** Distinct events this publisher sent (ids). */
  sent: number;
  /** Publishes (copies and retries included). */
  publishes: number;
  acked: number;
  /** Publishes repeated after a timeout or an error. */
  retries: number;
  /** Events never acknowledged after maxAttempts (the publisher gave up). */
  unacked: string[];
  elapsedMs: number;
}

export function eventId(source: string, seq: number): string {
  return `${source}-${String(seq).padStart(6, "0")}`;
}

export function scrapEvent(site: string, id: string): string {
  return JSON.stringify({
    id,
    type: "scrap",
    site,
    occurredAt: new Date().toISOString(),
    product: "FURN_8522",
    quantity: 1,
  });
}

export async function connectPublisher(url: string, clientId: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    clientId,
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 600 },
    reconnectPeriod: 200,
    connectTimeout: 5000,
  });
}

/** Publishes `seqs` as sequenced events; resolves once each was acknowledged (or given up). */
export async function publishSequence(options: PublisherOptions): Promise<PublisherReport> {
  const {
    url,
    topic,
    site,
    source,
    seqs,
    window = 50,
    rate,
    ackTimeoutMs = 15_000,
    maxAttempts = 20,
  } = options;
  const build = options.payload ?? ((id: string) => scrapEvent(site, id));
  const client = await connectPublisher(
    url,
    `fault-${options.clientName ?? source}-${process.pid}`,
  );
  client.on("error", () => undefined); // connection refused while a broker restarts: mqtt.js retries
  const report: PublisherReport = {
    source,
    sent: 0,
    publishes: 0,
    acked: 0,
    retries: 0,
    unacked: [],
    elapsedMs: 0,
  };
  const started = Date.now();

  async function sendOne(seq: number): Promise<void> {
    const id = eventId(source, seq);
    const body = build(id, seq);
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      report.publishes++;
      if (attempt > 1) report.retries++;
      let timer: NodeJS.Timeout | undefined;
      const ok = await Promise.race([
        client.publishAsync(topic, body, { qos: 1 }).then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ackTimeoutMs))),
      ]);
      clearTimeout(timer);
      if (ok) {
        report.acked++;
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    report.unacked.push(id);
  }

  const inFlight = new Set<Promise<void>>();
  const distinct = new Set<number>();
  for (let i = 0; i < seqs.length && !options.stop?.(); i++) {
    const seq = seqs[i]!;
    distinct.add(seq);
    report.sent = distinct.size;
    if (rate) {
      const due = started + (i / rate) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const p: Promise<void> = sendOne(seq).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= window) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  report.elapsedMs = Date.now() - started;
  await client.endAsync(true).catch(() => undefined);
  return report;
}

/** 0 .. n-1 */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
