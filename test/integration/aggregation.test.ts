/**
 * Aggregations end to end on the local Mosquitto: machine counters become production quantities
 * across a sidecar killed with SIGKILL (nothing counted twice, nothing lost), and a flapping
 * machine state becomes downtime intervals that never overlap, cut at the shift change.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { openStore } from "../../sidecar/src/store/index.js";
import type { MessageRow } from "../../sidecar/src/store/types.js";
import { MQTT_TEST_URL, randomName, serviceAvailable } from "../helpers/services.js";
import { startSidecarProcess } from "../helpers/sidecar-process.js";
import { mappingRig, waitFor } from "../helpers/mapping-rig.js";

const up = await serviceAvailable("Mosquitto", "127.0.0.1", 1883);
const TOKEN = "aggregation-test-admin-token-0123";

/** Units of production the sidecar holds for a site (its GraphQL trace, every page). */
async function produced(port: number, site: string): Promise<number> {
  let total = 0;
  let after: string | null = null;
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({
        query: `query($site: String, $after: String) { messages(filter: {site: $site, type: production}, first: 500, after: $after) { edges { node { event } } pageInfo { hasNextPage endCursor } } }`,
        variables: { site, after },
      }),
    });
    const body = (await res.json()) as {
      data: {
        messages: {
          edges: Array<{ node: { event: { quantity: number } } }>;
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      };
    };
    for (const e of body.data.messages.edges) total += e.node.event.quantity;
    if (!body.data.messages.pageInfo.hasNextPage) return total;
    after = body.data.messages.pageInfo.endCursor;
  }
}

(up ? describe : describe.skip)("aggregations on Mosquitto", () => {
  it("counts machine counters into production per window across a SIGKILL, each count once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-agg-"));
    const site = randomName("agg");
    const prefix = randomName("press");
    writeFileSync(
      join(dir, "mappings.json"),
      JSON.stringify([
        {
          id: 1,
          name: "Press counters",
          selector: `${prefix}/{site}/{machine}/counter`,
          event_type: "production",
          expression: `{"order": "WH/MO/00001", "quantity": total, "occurredAt": ts, "attributes": {"machine": $machine}}`,
          aggregation: { window: "2s", lateness: "300ms" },
        },
      ]),
    );
    const env = {
      PLANT_BRIDGE_MQTT_URL: MQTT_TEST_URL,
      PLANT_BRIDGE_SITE: site,
      PLANT_BRIDGE_NAME: randomName("agg-sidecar"),
      PLANT_BRIDGE_STORE: join(dir, "store.db"),
      PLANT_BRIDGE_MAPPINGS: join(dir, "mappings.json"),
      PLANT_BRIDGE_MAPPING_WORKERS: "1",
      PLANT_BRIDGE_ADMIN_TOKEN: TOKEN,
    };
    let proc = await startSidecarProcess(env);
    const publisher = await mqtt.connectAsync(MQTT_TEST_URL, {
      clientId: randomName("agg-pub"),
      protocolVersion: 5,
    });
    const machines = ["press-1", "press-2"];
    const totals = new Map(machines.map((m) => [m, 1_000_000]));
    /** The first reading of each machine: its baseline. */
    const first = new Map<string, number>();
    let ts = Date.now();
    let killed: Promise<number | null> | undefined;
    const readings = 900;
    for (let i = 0; i < readings; i++) {
      const machine = machines[i % 2]!;
      totals.set(machine, totals.get(machine)! + 1 + (i % 3));
      if (!first.has(machine)) first.set(machine, totals.get(machine)!);
      ts = Math.max(ts + 1, Date.now());
      const p = publisher.publishAsync(
        `${prefix}/${site}/${machine}/counter`,
        JSON.stringify({ total: totals.get(machine), ts }),
        { qos: 1 },
      );
      if (i % 10 === 9) await p;
      if (i % 100 === 99) await new Promise((r) => setTimeout(r, 200)); // over several windows
      if (i === 400) killed = proc.kill("SIGKILL");
      if (i === 600) {
        expect(await killed).toBeNull();
        proc = await startSidecarProcess(env);
      }
    }
    await publisher.endAsync();
    // Every window closes 2.3 s after its end, the clock checks every second: wait until the
    // sidecar holds as many units as the counters moved (asked through its GraphQL API).
    const expected = machines.reduce((n, m) => n + totals.get(m)! - first.get(m)!, 0);
    await waitFor(
      `${expected} units produced`,
      async () => ((await produced(proc.httpPort, site)) === expected ? true : undefined),
      60_000,
      250,
    );
    expect(await proc.kill("SIGTERM")).toBe(0);

    const store = await openStore(env.PLANT_BRIDGE_STORE);
    try {
      const rows = await store.listMessages({ site, limit: 1000 });
      const byMachine = new Map<string, number>();
      for (const row of rows) {
        const e = row.event as unknown as { quantity: number; attributes: { machine: string } };
        byMachine.set(
          e.attributes.machine,
          (byMachine.get(e.attributes.machine) ?? 0) + e.quantity,
        );
      }
      // The first reading of each machine is its baseline; every later increase counted once.
      expect(Object.fromEntries(byMachine)).toEqual(
        Object.fromEntries(machines.map((m) => [m, totals.get(m)! - first.get(m)!])),
      );
      expect(new Set(rows.map((r) => r.eventId)).size).toBe(rows.length);
      expect(rows.length).toBeGreaterThan(4); // several windows
      expect(rows.every((r) => r.origin === `${prefix}/{site}/{machine}/counter#f1@v1`)).toBe(true);
      expect(await store.listDeadLetters({ site })).toEqual([]);
    } finally {
      await store.close();
    }
  }, 120_000);

  it("turns machine-state flapping into non-overlapping downtime intervals cut at the shift change", async () => {
    const r = await mappingRig(MQTT_TEST_URL);
    try {
      await r.configure([
        {
          id: 4,
          name: "Acme states",
          selector: `${r.prefix}/{site}/{machine}/state`,
          expression: `{"workcenter": $machine, "status": $lookup({"1": "running", "2": "idle", "3": "down", "4": "setup"}, $string(s)), "reason": fault, "occurredAt": ts}`,
          aggregation: {
            down: ["down", "setup"],
            shifts: ["06:00", "14:00", "22:00"],
            timezone: "UTC",
            reason: "availability",
          },
        },
      ]);
      // Around the 14:00 shift change; the machine flaps between running and down.
      const t0 = Date.parse("2026-11-26T13:58:00Z");
      const states: Array<[number, number, string?]> = [
        [0, 1],
        [10, 3, "Jam"],
        [12, 1],
        [13, 3],
        [15, 3],
        [40, 1],
        [41, 4],
        [70, 3, "Tool broken"],
        [118, 1],
        [119, 3],
        [125, 3],
        [180, 2],
        [181, 1],
        [240, 3],
        [300, 1],
      ];
      for (const [s, state, fault] of states) {
        await r.publisher.publishAsync(
          `${r.prefix}/${r.site}/Drill 1/state`,
          JSON.stringify({ s: state, ts: t0 + s * 1000, ...(fault && { fault }) }),
          { qos: 1 },
        );
      }
      const iso = (s: number) => new Date(t0 + s * 1000).toISOString();
      const rows: MessageRow[] = await waitFor("the downtime of the last stop", async () => {
        const m = await r.store.listMessages({ site: r.site, limit: 100 });
        return m.some(
          (x) => x.event.type === "downtime" && (x.event as { end: string }).end === iso(300),
        )
          ? m.sort((a, b) => a.seq - b.seq)
          : undefined;
      });
      const downtime = rows
        .filter((m) => m.event.type === "downtime")
        .map(
          (m) =>
            m.event as unknown as {
              start: string;
              end: string;
              reason: string;
              workcenter: string;
            },
        );
      expect(downtime.map((d) => [d.start, d.end, d.reason])).toEqual([
        [iso(10), iso(12), "Jam"],
        [iso(13), iso(40), "availability"],
        [iso(41), iso(70), "availability"], // setup
        [iso(70), iso(118), "Tool broken"],
        [iso(119), iso(120), "availability"], // cut at 14:00
        [iso(120), iso(180), "availability"],
        [iso(240), iso(300), "availability"],
      ]);
      const sorted = [...downtime].sort((a, b) => a.start.localeCompare(b.start));
      for (let i = 1; i < sorted.length; i++)
        expect(sorted[i]!.start >= sorted[i - 1]!.end).toBe(true);
      expect(downtime.every((d) => d.workcenter === "Drill 1")).toBe(true);
      // The machine's state reaches Odoo on changes only, not on every repeated message.
      const statuses = rows
        .filter((m) => m.event.type === "machine_status")
        .map((m) => (m.event as { status: string }).status);
      expect(statuses).toEqual([
        "running",
        "down",
        "running",
        "down",
        "running",
        "setup",
        "down",
        "running",
        "down",
        "idle",
        "running",
        "down",
        "running",
      ]);
    } finally {
      await r.close();
    }
  }, 60_000);
});
