/**
 * Low-code mappings against each test broker (Mosquitto, RabbitMQ, NATS): vendor topics mapped by JSONata expressions as
 * an admin configures them, dead letters naming the mapping version, shadow versions that post
 * nothing, hostile mappings that stall nothing else, arrival order kept with canonical traffic,
 * hot reload of subscriptions, and replay through a fixed mapping.
 */
import { createMessageParser, rejectPayload } from "../../sidecar/src/canonical/parse.js";
import { canonicalTopic } from "../../sidecar/src/canonical/topics.js";
import { createReplayer } from "../../sidecar/src/pipeline/replay.js";
import { samples } from "../helpers/samples.js";
import { availableBrokers, startBroker, type TestBroker } from "../helpers/brokers.js";
import { mappingRig, waitFor, type MappingRig } from "../helpers/mapping-rig.js";

const brokers = await availableBrokers();

/** The vendor's status message, as an Acme gateway publishes it. */
const vendor = (state: string, ts: number, extra: object = {}) =>
  JSON.stringify({
    ts,
    st: state,
    alarm: state === "ERR" ? { code: 17, text: "Spindle overload" } : null,
    ...extra,
  });
const T = Date.parse("2026-11-26T08:00:00Z");

/** What an admin types in Odoo for that topic. */
const STATUS_EXPRESSION = `{
  "workcenter": $machine,
  "status": $lookup({"RUN": "running", "IDLE": "idle", "ERR": "down", "SETUP": "setup"}, st),
  "reason": alarm.text,
  "occurredAt": ts,
  "attributes": {"line": $line}
}`;

// Worker threads start from the TypeScript sources here and the machine may be busy: be patient.
const SLOW = 60_000;

describe.each(brokers)("mappings on %s", (name) => {
  let broker: TestBroker;
  let r: MappingRig;
  beforeAll(async () => {
    broker = await startBroker(name);
  });
  afterAll(() => broker.stop());
  // NATS 2.9 refuses a space (as a dot) in a topic level: its machine names have none there.
  const drill = name === "nats" ? "Drill_1" : "Drill 1";
  beforeEach(async () => {
    r = await mappingRig(broker.url);
  });
  afterEach(() => r.close());

  const messages = (n: number) =>
    waitFor(`${n} events`, async () => {
      const m = await r.store.listMessages({ site: r.site, limit: 500 });
      return m.length >= n ? m.sort((a, b) => a.seq - b.seq) : undefined;
    });

  it(
    "maps a vendor JSON topic into canonical events, once per message",
    async () => {
      await r.configure([
        {
          id: 7,
          name: "Acme status",
          selector: `${r.prefix}/{site}/{line}/{machine}/status`,
          expression: STATUS_EXPRESSION,
        },
      ]);
      const topic = `${r.prefix}/${r.site}/line-1/${drill}/status`;
      await r.publisher.publishAsync(topic, vendor("RUN", T), { qos: 1 });
      await r.publisher.publishAsync(topic, vendor("ERR", T + 60_000), { qos: 1 });
      await r.publisher.publishAsync(topic, vendor("ERR", T + 60_000), { qos: 1 }); // sent twice
      // Another site's topic is not this site's mapping's.
      await r.publisher.publishAsync(
        `${r.prefix}/elsewhere/line-1/${drill}/status`,
        vendor("RUN", T),
        { qos: 1 },
      );
      const rows = await waitFor("two events, one seen twice", async () => {
        const m = await r.store.listMessages({ site: r.site });
        return m.length === 2 && m.some((x) => x.duplicates === 1)
          ? m.sort((a, b) => a.seq - b.seq)
          : undefined;
      });
      expect(rows.map((m) => m.event)).toEqual([
        {
          id: expect.stringMatching(/^m7-[0-9a-f]{32}$/),
          type: "machine_status",
          site: r.site,
          workcenter: drill,
          status: "running",
          occurredAt: "2026-11-26T08:00:00.000Z",
          attributes: { line: "line-1" },
        },
        expect.objectContaining({
          status: "down",
          reason: "Spindle overload",
          occurredAt: "2026-11-26T08:01:00.000Z",
        }),
      ]);
      expect(rows.map((m) => [m.source, m.origin])).toEqual([
        ["mqtt", `${topic}#m7@v1`],
        ["mqtt", `${topic}#m7@v1`],
      ]);
      // Every message is sampled, the other site's too.
      await waitFor("four samples", async () =>
        r.samples.list({ selector: `${r.prefix}/#` }).length === 4 ? true : undefined,
      );
    },
    SLOW,
  );

  it(
    "maps a barcode scanner's pick of an order's components into a transfer",
    async () => {
      await r.configure([
        {
          selector: `${r.prefix}/{site}/scanner/{station}`,
          event_type: "transfer",
          expression: `{"order": mo, "step": "pick_components", "lines": scans.{"product": ean, "quantity": qty, "lot": lot}, "occurredAt": ts}`,
        },
      ]);
      const payload = {
        mo: "WH/MO/00007",
        ts: T,
        scans: [
          { ean: "4000000000017", qty: 6 },
          { ean: "PB_RESIN", qty: 3, lot: "R1" },
        ],
      };
      await r.publisher.publishAsync(`${r.prefix}/${r.site}/scanner/s1`, JSON.stringify(payload), {
        qos: 1,
      });
      const [row] = await messages(1);
      expect(row!.event).toEqual({
        id: expect.stringMatching(/^m\d+-[0-9a-f]{32}$/),
        type: "transfer",
        site: r.site,
        order: "WH/MO/00007",
        step: "pick_components",
        lines: [
          { product: "4000000000017", quantity: 6 },
          { product: "PB_RESIN", quantity: 3, lot: "R1" },
        ],
        occurredAt: "2026-11-26T08:00:00.000Z",
      });
    },
    SLOW,
  );

  it(
    "maps a vendor's inspection topic into a nonconformance and a compliance record",
    async () => {
      await r.configure([
        {
          id: 8,
          name: "Inspection cell",
          selector: `${r.prefix}/{site}/inspection`,
          event_type: "nonconformance",
          expression: `[{"lot": lot, "product": part, "quantity": bad, "defect": why,
            "disposition": "rework", "occurredAt": ts},
            {"type": "record", "kind": "measurements", "lot": lot, "product": part,
            "content": $string(values), "sha256": sha, "mediaType": "application/json",
            "occurredAt": ts}]`,
          // $event is the expression's output: the mapping's type is not filled in yet
          key_expression: `"insp-" & $$.lot & "-" & ($event.type ? $event.type : "nonconformance")`,
        },
      ]);
      const values = { od: 12.02, id: 8.01 };
      const payload = {
        ts: T,
        lot: "L-42",
        part: "FURN_7800",
        bad: 1,
        why: "oval",
        values,
        sha: "d".repeat(64),
      };
      await r.publisher.publishAsync(`${r.prefix}/${r.site}/inspection`, JSON.stringify(payload), {
        qos: 1,
      });
      const rows = await messages(2);
      expect(rows.map((m) => m.event)).toEqual([
        expect.objectContaining({
          id: "insp-L-42-nonconformance",
          type: "nonconformance",
          disposition: "rework",
          quantity: 1,
        }),
        expect.objectContaining({
          id: "insp-L-42-record",
          type: "record",
          kind: "measurements",
          content: JSON.stringify(values),
        }),
      ]);
    },
    SLOW,
  );

  it(
    "makes several events of one message, keyed by a key expression",
    async () => {
      await r.configure([
        {
          selector: `${r.prefix}/{site}/counts`,
          event_type: "scrap",
          expression: `rejects.{"product": part, "quantity": n, "reason": why, "occurredAt": $$.ts}`,
          key_expression: `"acme-" & $string($$.batch) & "-" & $event.product`,
        },
      ]);
      const payload = {
        ts: T,
        batch: 41,
        rejects: [
          { part: "FURN_7800", n: 2, why: "dent" },
          { part: "FURN_8888", n: 1, why: "scratch" },
        ],
      };
      await r.publisher.publishAsync(`${r.prefix}/${r.site}/counts`, JSON.stringify(payload), {
        qos: 1,
      });
      const rows = await messages(2);
      expect(
        rows.map((m) => [m.eventId, m.event.type, (m.event as { quantity: number }).quantity]),
      ).toEqual([
        ["acme-41-FURN_7800", "scrap", 2],
        ["acme-41-FURN_8888", "scrap", 1],
      ]);
    },
    SLOW,
  );

  it(
    "dead-letters what a mapping cannot do with the mapping version, and keeps the message",
    async () => {
      await r.configure([
        {
          id: 3,
          version: 4,
          name: "Acme status",
          selector: `${r.prefix}/{site}/{machine}/status`,
          expression: STATUS_EXPRESSION,
        },
      ]);
      const topic = (m: string) => `${r.prefix}/${r.site}/${m}/status`;
      const unknownState = vendor("WARP", T); // status missing: not a valid machine_status
      await r.publisher.publishAsync(topic("a"), unknownState, { qos: 1 });
      await r.publisher.publishAsync(topic("b"), '{"ts": ', { qos: 1 });
      await r.publisher.publishAsync(topic("c"), vendor("RUN", T), { qos: 1 });
      const dls = await waitFor("two dead letters", async () => {
        const d = await r.store.listDeadLetters({ site: r.site });
        return d.length === 2 ? d.sort((a, b) => a.id - b.id) : undefined;
      });
      expect(dls.map((d) => [d.code, d.origin, d.payload, d.source])).toEqual([
        ["schema", `${topic("a")}#m3@v4`, unknownState, "mqtt"],
        ["mapping_error", `${topic("b")}#m3@v4`, '{"ts": ', "mqtt"],
      ]);
      expect(dls[0]!.message).toMatch(/^mapping "Acme status" m3@v4: \/status/);
      expect(dls[1]!.message).toMatch(/^mapping "Acme status" m3@v4: payload is not valid JSON/);
      await messages(1);
    },
    SLOW,
  );

  it(
    "replays a dead letter through the fixed mapping",
    async () => {
      const selector = `${r.prefix}/{site}/{machine}/status`;
      await r.configure([
        {
          selector,
          expression: `{"workcenter": $machine, "status": $lowercase(st), "occurredAt": ts}`,
        },
      ]);
      await r.publisher.publishAsync(`${r.prefix}/${r.site}/m1/status`, vendor("ERR", T), {
        qos: 1,
      });
      const [dl] = await waitFor("a dead letter", async () => {
        const d = await r.store.listDeadLetters({ site: r.site });
        return d.length ? d : undefined;
      });
      expect(dl!.code).toBe("schema"); // "err" is not a machine state
      await r.configure([
        { selector, version: 2, expression: STATUS_EXPRESSION.replace("$machine", "$machine") },
      ]);
      const replay = createReplayer({
        store: r.store,
        parse: createMessageParser(),
        ingestor: r.ingestor,
        remap: (d, payload) => r.engine.replay(d.origin, payload),
      });
      const outcome = await replay(dl!.id);
      expect(outcome.results).toEqual([{ status: "accepted", seq: expect.any(Number) }]);
      expect(outcome.deadLetter.state).toBe("replayed");
      const [row] = await messages(1);
      expect(row!.event).toMatchObject({
        workcenter: "m1",
        status: "down",
        reason: "Spindle overload",
      });
      expect(row!.origin).toBe(`${r.prefix}/${r.site}/m1/status#m1@v2`);
    },
    SLOW,
  );

  it(
    "replays a message that failed before any mapping ran through every mapping of its topic",
    async () => {
      const selector = `${r.prefix}/{site}/{machine}/status`;
      await r.configure([{ selector, expression: STATUS_EXPRESSION }]);
      const topic = `${r.prefix}/${r.site}/m7/status`;
      // What the quarantine keeps of a message whose handling threw: its topic as origin.
      await r.ingestor.ingest(
        [
          {
            kind: "reject",
            rejection: rejectPayload(
              { site: r.site, source: "mqtt", origin: topic },
              "internal",
              "failed while handling this message: TypeError: boom",
              Buffer.from(vendor("ERR", T)),
            ),
          },
        ],
        { source: "mqtt", origin: topic },
      );
      const [dl] = await r.store.listDeadLetters({ site: r.site });
      const replay = createReplayer({
        store: r.store,
        parse: createMessageParser(),
        ingestor: r.ingestor,
        remap: (d, payload) => r.engine.replay(d.origin, payload),
      });
      const outcome = await replay(dl!.id);
      expect(outcome.results).toEqual([{ status: "accepted", seq: expect.any(Number) }]);
      const [row] = await messages(1);
      expect(row!.event).toMatchObject({ workcenter: "m7", status: "down" });
      expect(row!.origin).toBe(`${topic}#m1@v1`);
    },
    SLOW,
  );

  it(
    "runs a shadow version beside the active one: compared, never posted",
    async () => {
      const selector = `${r.prefix}/{site}/{machine}/status`;
      const v1 = `{"workcenter": $machine, "status": $lookup({"RUN": "running", "ERR": "down"}, st), "occurredAt": ts}`;
      await r.configure([
        // Odoo keeps each version as a record of one lineage: version 2 is record 9 of lineage 5.
        { id: 5, version: 1, state: "active", selector, expression: v1 },
        {
          id: 9,
          origin_id: 5,
          version: 2,
          state: "shadow",
          selector,
          expression: STATUS_EXPRESSION,
        },
        {
          id: 6,
          version: 1,
          state: "shadow",
          selector,
          event_type: "maintenance",
          expression: `st = "ERR" ? {"type": "maintenance", "workcenter": $machine, "kind": "corrective", "description": alarm.text}`,
        },
      ]);
      const topic = `${r.prefix}/${r.site}/${drill}/status`;
      await r.publisher.publishAsync(topic, vendor("RUN", T), { qos: 1 });
      await r.publisher.publishAsync(topic, vendor("ERR", T + 1000), { qos: 1 });
      const rows = await messages(2);
      await r.ingestor.flush();
      await new Promise((res) => setTimeout(res, 300));
      expect(await r.store.listMessages({ site: r.site })).toHaveLength(2); // only the active version's
      expect(rows.every((m) => m.origin.endsWith("#m5@v1"))).toBe(true);
      const comparisons = r.shadow.list(9);
      expect(comparisons).toHaveLength(2);
      expect(
        comparisons.map((c) => [c.active?.version, c.shadow.version, c.equal, c.differences]),
      ).toEqual([
        [1, 2, false, ["$[0].reason", "$[0].attributes"]],
        [1, 2, false, ["$[0].attributes"]],
      ]);
      const onlyShadow = r.shadow.list(6);
      expect(onlyShadow.map((c) => [c.active, c.shadow.events?.length])).toEqual([
        [null, 1],
        [null, 0],
      ]);
      expect(r.shadow.stats()).toEqual(
        expect.arrayContaining([
          {
            mappingId: 9,
            site: r.site,
            version: 2,
            compared: 2,
            equal: 0,
            different: 2,
            errors: 0,
          },
        ]),
      );
    },
    SLOW,
  );

  it(
    "keeps arrival order between canonical and mapped messages",
    async () => {
      await r.configure([
        { selector: `${r.prefix}/{site}/{machine}/status`, expression: STATUS_EXPRESSION },
      ]);
      const expected: string[] = [];
      for (let i = 0; i < 60; i++) {
        if (i % 3 === 0) {
          const id = `canonical-${i}`;
          expected.push(id);
          void r.publisher.publishAsync(
            canonicalTopic(r.site),
            JSON.stringify({ ...samples.machine_status, site: r.site, id }),
            { qos: 1 },
          );
        } else {
          expected.push(`mapped-${i}`);
          void r.publisher.publishAsync(
            `${r.prefix}/${r.site}/m${i}/status`,
            vendor("RUN", T + i),
            { qos: 1 },
          );
        }
      }
      const rows = await messages(60);
      const got = rows.map((m) =>
        m.eventId.startsWith("canonical")
          ? m.eventId
          : `mapped-${(m.event as { workcenter: string }).workcenter.slice(1)}`,
      );
      if (name !== "nats") expect(got).toEqual(expected);
      else {
        // NATS delivers each subscription from its own JetStream consumer: order holds per
        // topic (what MQTT promises), not across topics (docs/SCALE.md "Brokers").
        const canonical = (ids: string[]) => ids.filter((id) => id.startsWith("canonical"));
        expect(canonical(got)).toEqual(canonical(expected));
        expect([...got].sort()).toEqual([...expected].sort());
      }
    },
    SLOW,
  );

  it(
    "stops hostile mappings with mapping_error and keeps the other traffic flowing",
    async () => {
      await r.configure([
        { id: 1, selector: `${r.prefix}/{site}/regex`, expression: `$match(s, /(a+)+b/)` },
        {
          id: 2,
          selector: `${r.prefix}/{site}/loop`,
          expression: `( $f := function($x){$f($x)}; $f(1) )`,
        },
        {
          id: 3,
          selector: `${r.prefix}/{site}/huge`,
          expression: `[1..5000].{"workcenter": "w", "status": "idle"}`,
        },
        {
          id: 4,
          selector: `${r.prefix}/{site}/proto`,
          expression: `{"__proto__": {"admin": true}, "workcenter": "w", "status": "idle"}`,
        },
        { id: 5, selector: `${r.prefix}/{site}/{machine}/status`, expression: STATUS_EXPRESSION },
      ]);
      const started = Date.now();
      await r.publisher.publishAsync(
        `${r.prefix}/${r.site}/regex`,
        JSON.stringify({ s: `${"a".repeat(40)}!` }),
        { qos: 1 },
      );
      await r.publisher.publishAsync(`${r.prefix}/${r.site}/loop`, "{}", { qos: 1 });
      await r.publisher.publishAsync(`${r.prefix}/${r.site}/huge`, "{}", { qos: 1 });
      await r.publisher.publishAsync(`${r.prefix}/${r.site}/proto`, "{}", { qos: 1 });
      await r.publisher.publishAsync(
        `${r.prefix}/${r.site}/x/status`,
        '{"__proto__": {"admin": true}, "st": "RUN"}',
        { qos: 1 },
      );
      for (let i = 0; i < 200; i++)
        void r.publisher.publishAsync(`${r.prefix}/${r.site}/m${i}/status`, vendor("RUN", T + i), {
          qos: 1,
        });
      await messages(200);
      const dls = await waitFor("five dead letters", async () => {
        const d = await r.store.listDeadLetters({ site: r.site });
        return d.length === 5 ? d.sort((a, b) => a.id - b.id) : undefined;
      });
      // In arrival order: the regex held the others back until its worker was stopped.
      expect(dls.map((d) => [d.origin.split("#")[1], d.code])).toEqual([
        ["m1@v1", "mapping_error"],
        ["m2@v1", "mapping_error"],
        ["m3@v1", "mapping_error"],
        ["m4@v1", "mapping_error"],
        ["m5@v1", "schema"],
      ]);
      expect(dls[0]!.message).toContain("did not finish within 500 ms");
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
    },
    SLOW,
  );

  it(
    "suspends a mapping whose evaluations keep being killed, so it cannot hold the plant back",
    async () => {
      await r.configure([
        { id: 1, selector: `${r.prefix}/{site}/regex`, expression: `$match(s, /(a+)+b/)` },
        { id: 2, selector: `${r.prefix}/{site}/{machine}/status`, expression: STATUS_EXPRESSION },
      ]);
      const started = Date.now();
      for (let round = 0; round < 10; round++) {
        void r.publisher.publishAsync(
          `${r.prefix}/${r.site}/regex`,
          JSON.stringify({ s: `${"a".repeat(40)}!`, round }),
          { qos: 1 },
        );
        for (let i = 0; i < 20; i++)
          void r.publisher.publishAsync(
            `${r.prefix}/${r.site}/m${round}-${i}/status`,
            vendor("RUN", T + i),
            { qos: 1 },
          );
      }
      await messages(200);
      const dls = await waitFor("ten dead letters", async () => {
        const d = await r.store.listDeadLetters({ site: r.site, limit: 20 });
        return d.length === 10 ? d.sort((a, b) => a.id - b.id) : undefined;
      });
      // Three were stopped one by one (two workers); the rest went straight to the dead letters.
      expect(dls.filter((d) => d.message.includes("did not finish")).length).toBeLessThanOrEqual(4);
      expect(
        dls.filter((d) => d.message.includes("suspended until")).length,
      ).toBeGreaterThanOrEqual(6);
      // Well under ten stops in a row (each 0.5 s plus a new worker, slow from TypeScript sources).
      expect(Date.now() - started).toBeLessThan(20_000);
    },
    SLOW,
  );

  it(
    "follows mapping changes without a restart: subscribes and unsubscribes",
    async () => {
      const topic = `${r.prefix}/${r.site}/m/status`;
      await r.publisher.publishAsync(topic, vendor("RUN", T), { qos: 1 });
      await r.configure([
        { selector: `${r.prefix}/{site}/{machine}/status`, expression: STATUS_EXPRESSION },
      ]);
      await r.publisher.publishAsync(topic, vendor("IDLE", T + 1), { qos: 1 });
      const [row] = await messages(1);
      expect(row!.event).toMatchObject({ status: "idle" });
      await r.configure([]);
      await r.publisher.publishAsync(topic, vendor("ERR", T + 2), { qos: 1 });
      await new Promise((res) => setTimeout(res, 500));
      expect(await r.store.listMessages({ site: r.site })).toHaveLength(1);
      expect(r.ingress.client.connected).toBe(true);
    },
    SLOW,
  );
});
