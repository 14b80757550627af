/**
 * Store-and-forward under a crash: a real sidecar process on the local Mosquitto is killed with
 * SIGKILL while a publisher keeps sending QoS 1 events; once restarted on the same SQLite file,
 * every event is stored exactly once.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import { canonicalTopic } from "../../sidecar/src/canonical/topics.js";
import { openStore } from "../../sidecar/src/store/index.js";
import { MQTT_TEST_URL, randomName, serviceAvailable } from "../helpers/services.js";
import { startSidecarProcess, type SidecarProcess } from "../helpers/sidecar-process.js";

const up = await serviceAvailable("Mosquitto", "127.0.0.1", 1883);
const TOKEN = "crash-test-admin-token-0123456789";

async function pending(proc: SidecarProcess, site: string): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${proc.httpPort}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query: "{ sidecar { sites { site pending } } }" }),
  });
  const body = (await r.json()) as {
    data: { sidecar: { sites: Array<{ site: string; pending: number }> } };
  };
  return body.data.sidecar.sites.find((s) => s.site === site)?.pending ?? 0;
}

(up ? describe : describe.skip)("sidecar killed with SIGKILL while events arrive", () => {
  it("loses none and stores none twice once restarted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-crash-"));
    const site = randomName("crash");
    const env = {
      PLANT_BRIDGE_MQTT_URL: MQTT_TEST_URL,
      PLANT_BRIDGE_SITE: site,
      PLANT_BRIDGE_NAME: randomName("crash-sidecar"),
      PLANT_BRIDGE_STORE: join(dir, "store.db"),
      PLANT_BRIDGE_ADMIN_TOKEN: TOKEN,
    };
    // Mosquitto keeps at most max_queued_messages (1000) for an absent session: the publisher
    // sends 1,400 events, is killed after 500 of them, then 50 repeats: at most 950 wait queued.
    const total = 1400;
    const killAfter = 500;
    let proc = await startSidecarProcess(env);
    const publisher = await mqtt.connectAsync(MQTT_TEST_URL, {
      clientId: randomName("crash-pub"),
      protocolVersion: 5,
    });
    const ids: string[] = [];
    let killed: Promise<unknown> | undefined;
    for (let i = 0; i < total; i++) {
      const id = `crash-${i}`;
      ids.push(id);
      const event = {
        id,
        type: "scrap",
        site,
        occurredAt: new Date().toISOString(),
        product: "FURN_8522",
        quantity: 1,
      };
      // Not awaited one by one: up to 20 in flight, like a gateway with a send window.
      const p = publisher.publishAsync(canonicalTopic(site), JSON.stringify(event), { qos: 1 });
      if (i % 20 === 19) await p;
      if (i === killAfter) killed = proc.kill("SIGKILL");
    }
    expect(await killed).toBeNull(); // killed by the signal, not exited
    // Duplicates a gateway would send again after a reconnect: the same ids, twice.
    for (let i = 0; i < 50; i++) {
      const event = {
        id: ids[i],
        type: "scrap",
        site,
        occurredAt: new Date().toISOString(),
        product: "FURN_8522",
        quantity: 1,
      };
      await publisher.publishAsync(canonicalTopic(site), JSON.stringify(event), { qos: 1 });
    }
    await publisher.endAsync();

    proc = await startSidecarProcess(env);
    const deadline = Date.now() + 30_000;
    while ((await pending(proc, site)) < total && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    expect(await proc.kill("SIGTERM")).toBe(0);

    const store = await openStore(env.PLANT_BRIDGE_STORE);
    try {
      const seen = new Map<string, number>();
      let before: number | undefined;
      for (;;) {
        const page = await store.listMessages({
          site,
          limit: 500,
          ...(before !== undefined && { beforeSeq: before }),
        });
        if (page.length === 0) break;
        for (const m of page) seen.set(m.eventId, (seen.get(m.eventId) ?? 0) + 1);
        before = page[page.length - 1]!.seq;
      }
      const missing = ids.filter((id) => !seen.has(id));
      if (missing.length) console.log("missing", missing.join(","));
      expect(seen.size).toBe(total);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      expect(ids.filter((id) => !seen.has(id))).toEqual([]);
      const dls = await store.listDeadLetters({ site });
      expect(dls).toEqual([]);
    } finally {
      await store.close();
    }
  }, 120_000);
});
