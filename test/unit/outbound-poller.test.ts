/**
 * The outbound poller against a scripted Odoo client: a release every sink takes is acknowledged
 * (and announced on the bus); one a sink keeps refusing is retried on the next polls, then, after
 * `maxAttempts`, acknowledged in Odoo as `failed` with the sink's message — and no longer retried.
 */
import type { OdooClient, OutboundRow } from "../../sidecar/src/contracts/odoo-api.js";
import type { OutboundSink } from "../../sidecar/src/contracts/outbound.js";
import { createLogger } from "../../sidecar/src/logger.js";
import { createOutboundPoller } from "../../sidecar/src/odoo/outbound-poller.js";
import { Bus } from "../../sidecar/src/pipeline/bus.js";

const logger = createLogger({ level: "silent" });

function row(id: number, order: string): OutboundRow {
  return {
    id,
    type: "order_release",
    order,
    created: "2026-11-26T08:00:00+00:00",
    payload: { type: "order_release", site: "main", order, product: "FURN_9666", quantity: 4 },
  };
}

/** An Odoo that hands out what is pending and records `ack_outbound`. */
function scriptedOdoo(pending: OutboundRow[]) {
  const acks: Array<Array<{ id: number; state: string; sink: string; message: string }>> = [];
  const fetches: Array<Record<string, unknown>> = [];
  const client: OdooClient = {
    protocol: () => "json2",
    version: async () => [19, 0],
    healthy: async () => true,
    async call<T>(_model: string, method: string, kwargs: Record<string, unknown> = {}) {
      if (method === "fetch_outbound") {
        fetches.push(kwargs);
        return pending.map((r) => ({ ...r })) as T;
      }
      if (method === "ack_outbound") {
        const batch = kwargs.acks as (typeof acks)[number];
        acks.push(batch);
        // Odoo settles what was acknowledged (either way): no longer pending
        for (const a of batch)
          pending.splice(
            pending.findIndex((r) => r.id === a.id),
            1,
          );
        return { acknowledged: batch.length } as T;
      }
      throw new Error(`unexpected call ${method}`);
    },
    close: async () => undefined,
  };
  return { client, acks, fetches };
}

describe("outbound poller", () => {
  it("acknowledges a release as failed with the sink's message after its last attempt", async () => {
    const odoo = scriptedOdoo([row(7, "WH/MO/00007"), row(8, "WH/MO/00008")]);
    const delivered: number[] = [];
    const flaky: OutboundSink = {
      name: "file:/srv/mes/in",
      async deliver(r) {
        if (r.order === "WH/MO/00007") throw new Error("EACCES: permission denied, open 'x.csv'");
        delivered.push(r.id);
      },
    };
    const mqtt: OutboundSink = {
      name: "mqtt:plant-bridge/v1/main/commands",
      deliver: async () => {},
    };
    const bus = new Bus();
    const released: Array<Record<string, unknown>> = [];
    bus.on("orderReleased", (e) => released.push(e.payload));
    const poller = createOutboundPoller({
      client: odoo.client,
      site: "main",
      sinks: () => [mqtt, flaky],
      logger,
      bus,
      maxAttempts: 3,
    });

    // first poll: row 8 goes through; row 7 fails its first attempt and is not acknowledged
    expect(await poller.poll()).toBe(1);
    expect(odoo.acks).toEqual([
      [
        {
          id: 8,
          state: "acknowledged",
          sink: "mqtt:plant-bridge/v1/main/commands, file:/srv/mes/in",
          message: "",
        },
      ],
    ]);
    expect(released).toEqual([expect.objectContaining({ outboundId: 8, order: "WH/MO/00008" })]);

    // second attempt: still failing, still nothing sent to Odoo for it
    expect(await poller.poll()).toBe(0);
    expect(odoo.acks).toHaveLength(1);

    // third and last attempt: acknowledged as failed, with the sink that refused and why
    expect(await poller.poll()).toBe(0);
    expect(odoo.acks[1]).toEqual([
      {
        id: 7,
        state: "failed",
        sink: "mqtt:plant-bridge/v1/main/commands, file:/srv/mes/in",
        message: "file:/srv/mes/in: EACCES: permission denied, open 'x.csv'",
      },
    ]);
    expect(released).toHaveLength(1); // a failed release is not announced

    // settled in Odoo: nothing more is delivered nor acknowledged
    expect(await poller.poll()).toBe(0);
    expect(odoo.acks).toHaveLength(2);
    expect(delivered).toEqual([8]);
    expect(odoo.fetches.every((f) => f.site === "main")).toBe(true);
  });

  it("counts attempts of a release without any sink and fails it with that reason", async () => {
    const odoo = scriptedOdoo([row(9, "WH/MO/00009")]);
    const poller = createOutboundPoller({
      client: odoo.client,
      site: "main",
      sinks: () => [],
      logger,
      bus: new Bus(),
      maxAttempts: 2,
    });
    await poller.poll();
    expect(odoo.acks).toEqual([]);
    await poller.poll();
    expect(odoo.acks).toEqual([
      [{ id: 9, state: "failed", sink: "", message: "no sink configured" }],
    ]);
  });

  it("a standby of an ingest group leaves releases to the owner: nothing fetched, none failed", async () => {
    const odoo = scriptedOdoo([row(9, "WH/MO/00009")]);
    let owner = false;
    const delivered: number[] = [];
    const poller = createOutboundPoller({
      client: odoo.client,
      site: "main",
      sinks: () => [{ name: "mqtt:x", deliver: async (r) => void delivered.push(r.id) }],
      logger,
      bus: new Bus(),
      maxAttempts: 1,
      active: () => owner,
    });
    expect(await poller.poll()).toBe(0);
    expect({ fetches: odoo.fetches.length, acks: odoo.acks, delivered }).toEqual({
      fetches: 0,
      acks: [],
      delivered: [],
    });
    owner = true; // took over
    expect(await poller.poll()).toBe(1);
    expect(delivered).toEqual([9]);
  });
});
