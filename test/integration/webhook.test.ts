/**
 * Signed HTTP webhooks over real HTTP (loopback) against the sidecar's HTTP server and a real
 * SQLite store. Asserts the HTTP answers and what a user would check in the store: the events,
 * the dead letters with their codes and kept payloads, and the contract metrics.
 */
import { startHttpServer, type HttpServer } from "../../sidecar/src/api/http-server.js";
import { createMessageParser, DEFAULT_LIMITS } from "../../sidecar/src/canonical/parse.js";
import {
  SIGNATURE_HEADER,
  sign,
  SOURCE_HEADER,
  TIMESTAMP_HEADER,
} from "../../sidecar/src/ingress/webhook/signature.js";
import {
  createWebhookRoutes,
  type WebhookResult,
  type WebhookRoutesOptions,
} from "../../sidecar/src/ingress/webhook/webhook-route.js";
import { createLogger } from "../../sidecar/src/logger.js";
import type { Ingestor } from "../../sidecar/src/pipeline/ingestor.js";
import { createQuarantine } from "../../sidecar/src/pipeline/quarantine.js";
import { samples } from "../helpers/samples.js";
import { randomName } from "../helpers/services.js";
import { createApiHarness, type ApiHarness } from "../helpers/api-harness.js";

const logger = createLogger({ level: "silent" });
const SECRET = "whsec-0123456789abcdef0123456789abcdef";
const limits = { ...DEFAULT_LIMITS, maxMessageBytes: 16 * 1024, keptPayloadBytes: 1024 };

interface Answer {
  status: number;
  results: WebhookResult[];
}

describe("signed webhooks", () => {
  let h: ApiHarness;
  let http: HttpServer;
  let site: string;

  /** `options` may be a function: it then sees the new test's `site`. */
  async function start(
    options: Partial<WebhookRoutesOptions> | (() => Partial<WebhookRoutesOptions>) = {},
    wrap?: (i: Ingestor) => Ingestor,
  ) {
    h = await createApiHarness();
    site = randomName("site");
    const extra = typeof options === "function" ? options() : options;
    http = await startHttpServer({
      port: 0,
      api: h.api,
      auth: { authenticate: () => undefined },
      metrics: h.metrics,
      logger,
      health: () => ({}),
      ready: () => ({ ready: true, reasons: [] }),
      extraRoutes: createWebhookRoutes({
        secret: SECRET,
        sites: [site],
        parse: createMessageParser(limits),
        ingestor: wrap ? wrap(h.ingestor) : h.ingestor,
        logger,
        limits,
        unverifiedKeptBytes: 512,
        ...extra,
      }),
    });
  }
  afterEach(async () => {
    await http?.close();
    await h?.close();
  });

  const nowSeconds = () => Math.floor(Date.now() / 1000);
  const event = (id: string) => ({ ...samples.scrap, site, id });

  function signed(body: string | Buffer, ts: number = nowSeconds()): Record<string, string> {
    return { [TIMESTAMP_HEADER]: String(ts), [SIGNATURE_HEADER]: sign(SECRET, ts, body) };
  }

  async function post(
    body: string | Buffer,
    headers: Record<string, string> | Headers = signed(body),
    path = `/webhooks/${site}`,
  ): Promise<Answer> {
    const res = await fetch(`${http.url}${path}`, {
      method: "POST",
      headers,
      body: typeof body === "string" ? body : new Uint8Array(body),
    });
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as { results?: WebhookResult[] }) : {};
    return { status: res.status, results: parsed.results ?? [] };
  }

  const deadLetters = () => h.store.listDeadLetters({ site, limit: 100 });
  const messages = () => h.store.listMessages({ site, limit: 100 });

  it("takes a scanner's transfer like any event: stored once, a malformed one dead-lettered", async () => {
    await start();
    const transfer = { ...samples.transfer, site, id: "w-t1" };
    const halfMove = { ...transfer, id: "w-t2", to: undefined };
    const body = JSON.stringify([transfer, halfMove]);
    const answer = await post(body);
    expect(answer.status).toBe(202);
    expect(answer.results.map((r) => [r.id, r.status, r.code])).toEqual([
      ["w-t1", "accepted", null],
      ["w-t2", "rejected", "schema"],
    ]);
    expect((await messages()).map((m) => [m.eventId, m.event.type, m.source])).toEqual([
      ["w-t1", "transfer", "webhook"],
    ]);
    expect((await deadLetters()).map((d) => [d.code, d.eventId])).toEqual([["schema", "w-t2"]]);
  });

  it("stores a signed event and a signed array once; a repeat is a duplicate", async () => {
    await start();
    const one = JSON.stringify(event("w-1"));
    const first = await post(one);
    expect(first).toEqual({
      status: 202,
      results: [{ id: "w-1", status: "accepted", code: null, message: null }],
    });
    const many = JSON.stringify([event("w-2"), event("w-3"), { ...event("w-4"), quantity: -1 }]);
    const second = await post(many);
    expect(second.status).toBe(202);
    expect(second.results.map((r) => [r.id, r.status, r.code])).toEqual([
      ["w-2", "accepted", null],
      ["w-3", "accepted", null],
      ["w-4", "rejected", "bad_quantity"],
    ]);
    // The same event sent again (a new delivery: new timestamp, new signature). Ten seconds
    // back, not one: one second back equals the first delivery's when a second boundary falls
    // between them, and that is a replay of the same signature.
    const again = await post(one, signed(one, nowSeconds() - 10));
    expect(again.results).toEqual([
      { id: "w-1", status: "duplicate", code: "duplicate", message: null },
    ]);

    const rows = await messages();
    expect(rows.map((m) => m.eventId).sort()).toEqual(["w-1", "w-2", "w-3"]);
    for (const row of rows) {
      expect(row.source).toBe("webhook");
      expect(row.origin).toBe(`/webhooks/${site}`);
      expect(row.state).toBe("pending");
    }
    expect(rows.find((m) => m.eventId === "w-1")!.duplicates).toBe(1);
    const dls = await deadLetters();
    expect(dls.map((d) => [d.code, d.eventId, d.source])).toEqual([
      ["bad_quantity", "w-4", "webhook"],
    ]);

    const received = (await h.metrics.received.get()).values.find(
      (v) => v.labels.site === site && v.labels.source === "webhook",
    );
    expect(received?.value).toBe(5);
    const rejected = (await h.metrics.rejected.get()).values.find(
      (v) => v.labels.site === site && v.labels.code === "bad_quantity",
    );
    expect(rejected?.value).toBe(1);
  });

  it("takes a nonconformance and a compliance record; refuses hostile ones with their codes", async () => {
    await start();
    const nc = { ...samples.nonconformance, site, id: "w-nc" };
    const record = { ...samples.record, site, id: "w-rec" };
    const hostile = [
      { ...samples.record, site, id: "w-rec-js", content: undefined, uri: "javascript:alert(1)" },
      { ...samples.record, site, id: "w-rec-both", uri: "https://x.example/a.pdf" },
      { ...samples.nonconformance, site, id: "w-nc-zero", quantity: 0 },
      { ...samples.nonconformance, site, id: "w-nc-concession", disposition: "use_as_is" },
    ];
    const answer = await post(JSON.stringify([nc, record, ...hostile]));
    expect(answer.status).toBe(202);
    expect(answer.results.map((r) => [r.id, r.status, r.code])).toEqual([
      ["w-nc", "accepted", null],
      ["w-rec", "accepted", null],
      ["w-rec-js", "rejected", "schema"],
      ["w-rec-both", "rejected", "schema"],
      ["w-nc-zero", "rejected", "bad_quantity"],
      ["w-nc-concession", "rejected", "schema"],
    ]);
    expect((await messages()).map((m) => [m.eventId, m.event.type, m.source]).sort()).toEqual([
      ["w-nc", "nonconformance", "webhook"],
      ["w-rec", "record", "webhook"],
    ]);
    expect((await deadLetters()).map((d) => d.eventId).sort()).toEqual([
      "w-nc-concession",
      "w-nc-zero",
      "w-rec-both",
      "w-rec-js",
    ]);
  });

  it("answers 401 to a wrong signature and keeps the request as a `signature` dead letter", async () => {
    await start();
    const body = JSON.stringify(event("forged"));
    const ts = nowSeconds();
    const forged = {
      [TIMESTAMP_HEADER]: String(ts),
      [SIGNATURE_HEADER]: sign("another-secret-0123456789abcdef0123", ts, body),
    };
    const answer = await post(body, forged);
    expect(answer.status).toBe(401);
    expect(answer.results).toMatchObject([{ id: null, status: "rejected", code: "signature" }]);
    // Signed for another timestamp than the one sent, or another body: also a bad signature.
    expect(
      (await post(body, { ...signed(body, ts - 10), [TIMESTAMP_HEADER]: String(ts) })).status,
    ).toBe(401);
    expect((await post(`${body} `, signed(body))).status).toBe(401);

    expect(await messages()).toEqual([]);
    const dls = await deadLetters();
    // The first two are the same payload: one dead letter counting the repeat.
    expect(dls.map((d) => d.code)).toEqual(["signature", "signature"]);
    const first = dls.find((d) => d.payload === body && d.repeats === 1)!;
    expect(first).toMatchObject({
      source: "webhook",
      origin: `/webhooks/${site}`,
      payloadSize: Buffer.byteLength(body),
      state: "open",
    });

    // An operator's retry does not book it as it is; with its payload checked (edited) it does.
    const replay = `mutation($id: ID!, $p: JSON) {
      replayDeadLetter(id: $id, payload: $p) { deadLetter { state } results { id status } } }`;
    const refused = await h.gql(replay, { id: first.id });
    expect(refused.errors?.[0]?.message).toMatch(/failed authentication/);
    expect(await messages()).toEqual([]);
    const checked = await h.gql(replay, { id: first.id, p: event("checked") });
    expect(checked.data?.replayDeadLetter).toEqual({
      deadLetter: { state: "replayed" },
      results: [expect.objectContaining({ status: "accepted" })],
    });
    expect((await messages()).map((m) => m.eventId)).toEqual(["checked"]);
  });

  it("refuses hostile headers with 401 `signature`: missing, malformed, wrong length", async () => {
    await start({ unverifiedPerMinute: 100 });
    const body = JSON.stringify(event("hostile"));
    const ts = String(nowSeconds());
    const good = signed(body, Number(ts))[SIGNATURE_HEADER]!;
    const repeated = new Headers({ [TIMESTAMP_HEADER]: ts });
    repeated.append(SIGNATURE_HEADER, good);
    repeated.append(SIGNATURE_HEADER, good);
    const cases: Array<Record<string, string> | Headers> = [
      {},
      { [TIMESTAMP_HEADER]: ts },
      { [SIGNATURE_HEADER]: good },
      { [TIMESTAMP_HEADER]: ts, [SIGNATURE_HEADER]: `sha256=${"zz".repeat(32)}` },
      { [TIMESTAMP_HEADER]: ts, [SIGNATURE_HEADER]: good.slice(0, -2) },
      { [TIMESTAMP_HEADER]: ts, [SIGNATURE_HEADER]: `${good}00` },
      { [TIMESTAMP_HEADER]: ts, [SIGNATURE_HEADER]: good.replace("sha256=", "sha1=") },
      { [TIMESTAMP_HEADER]: ts, [SIGNATURE_HEADER]: good.slice("sha256=".length) },
      { [TIMESTAMP_HEADER]: `${ts}.5`, [SIGNATURE_HEADER]: good },
      { [TIMESTAMP_HEADER]: "-1", [SIGNATURE_HEADER]: good },
      repeated,
    ];
    for (const headers of cases) {
      const answer = await post(body, headers);
      expect(answer.status).toBe(401);
      expect(answer.results[0]?.code).toBe("signature");
    }
    expect(await messages()).toEqual([]);
    // Same payload, same code: one dead letter counting the repeats.
    const dls = await deadLetters();
    expect(dls).toHaveLength(1);
    expect(dls[0]).toMatchObject({ code: "signature", payload: body, repeats: cases.length - 1 });
    // The well-formed request still goes through.
    expect((await post(body, { [TIMESTAMP_HEADER]: ts, [SIGNATURE_HEADER]: good })).status).toBe(
      202,
    );
  });

  it("bounds the dead letters of unauthenticated requests, truncated, still counting each", async () => {
    await start({ unverifiedPerMinute: 3 });
    for (let i = 0; i < 8; i++) {
      const body = `${JSON.stringify(event(`flood-${i}`))}${" ".repeat(2000)}`;
      const answer = await post(body, { [TIMESTAMP_HEADER]: "1", [SIGNATURE_HEADER]: "x" });
      expect(answer.status).toBe(401);
      expect(answer.results[0]?.code).toBe("signature");
    }
    // 3 kept as they are, the 5 others as one dead letter and its 4 repeats: 4 rows in all.
    const dls = await deadLetters();
    expect(dls.map((d) => d.repeats).sort()).toEqual([0, 0, 0, 4]);
    for (const d of dls) {
      expect(d.code).toBe("signature");
      expect(Buffer.byteLength(d.payload)).toBe(512);
      expect(d.payloadSize).toBeGreaterThan(2000);
    }
    const counted = (await h.metrics.rejected.get()).values.find(
      (v) => v.labels.site === site && v.labels.code === "signature",
    );
    expect(counted?.value).toBe(8);
  });

  it("answers 409 `replayed` to a stale or future timestamp and to a signature seen before", async () => {
    await start({ toleranceSeconds: 300 });
    const body = JSON.stringify(event("r-1"));
    const stale = await post(body, signed(body, nowSeconds() - 301));
    expect(stale.status).toBe(409);
    expect(stale.results[0]?.code).toBe("replayed");
    expect((await post(body, signed(body, nowSeconds() + 400))).status).toBe(409);

    const headers = signed(body);
    expect((await post(body, headers)).results[0]?.status).toBe("accepted");
    const replay = await post(body, headers);
    expect(replay.status).toBe(409);
    expect(replay.results[0]?.code).toBe("replayed");

    const rows = await messages();
    expect(rows.map((m) => [m.eventId, m.duplicates])).toEqual([["r-1", 0]]);
    const dls = await deadLetters();
    // Same payload, same code: the three refusals are one dead letter with its repeats.
    expect(dls.map((d) => [d.code, d.payload, d.repeats])).toEqual([["replayed", body, 2]]);
  });

  it("lets the sender retry a request whose commit failed (not a replay)", async () => {
    let failures = 1;
    await start({}, (inner) => ({
      ...inner,
      ingest: async (items, ctx, opts) => {
        if (failures-- > 0) throw new Error("disk full");
        return inner.ingest(items, ctx, opts);
      },
    }));
    const body = JSON.stringify(event("retry-1"));
    const headers = signed(body);
    expect(await post(body, headers)).toMatchObject({
      status: 503,
      results: [{ status: "rejected", code: "store_unavailable" }],
    });
    expect(await post(body, headers)).toMatchObject({
      status: 202,
      results: [{ id: "retry-1", status: "accepted" }],
    });
    expect((await messages()).map((m) => m.eventId)).toEqual(["retry-1"]);
  });

  it("answers 422 `internal` to a request that fails while handled, keeps it, and goes on", async () => {
    const real = createMessageParser(limits);
    await start({
      parse: (payload, ctx) => {
        if (Buffer.from(payload).includes("detonate")) throw new RangeError("boom");
        return real(payload, ctx);
      },
      quarantine: (...args) => createQuarantine({ ingestor: h.ingestor, logger })(...args),
    });
    const poison = JSON.stringify(event("detonate"));
    expect(await post(poison)).toMatchObject({
      status: 422,
      results: [{ id: null, status: "rejected", code: "internal" }],
    });
    expect((await post(JSON.stringify(event("after")))).status).toBe(202);
    expect((await messages()).map((m) => m.eventId)).toEqual(["after"]);
    const dls = await deadLetters();
    expect(dls.map((d) => [d.code, d.source, d.payload])).toEqual([
      ["internal", "webhook", poison],
    ]);
    expect(dls[0]!.message).toMatch(/RangeError: boom/);
  });

  it("answers 413 `too_large` to a declared length over the limit before reading or hashing it", async () => {
    await start();
    const body = JSON.stringify([event("big")]) + " ".repeat(20 * 1024);
    const answer = await post(body);
    expect(answer.status).toBe(413);
    expect(answer.results[0]?.code).toBe("too_large");
    const [dl] = await deadLetters();
    expect(dl).toMatchObject({
      code: "too_large",
      payloadSize: Buffer.byteLength(body),
      payload: "",
    });
    expect(dl!.message).toMatch(/declared body of \d+ bytes .* \(not read\)/);
    expect(await messages()).toEqual([]);
  });

  it("answers 413 `too_large` to a signed chunked body over the limit, keeping its beginning", async () => {
    await start();
    const body = JSON.stringify([event("big")]) + " ".repeat(20 * 1024);
    // A streamed body declares no length: it is counted (and hashed) as it arrives.
    const chunked = (headers: Record<string, string>) =>
      fetch(`${http.url}/webhooks/${site}`, {
        method: "POST",
        headers,
        body: new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(body));
            controller.close();
          },
        }),
        duplex: "half",
      } as RequestInit);
    expect((await chunked(signed(body))).status).toBe(413);
    const [dl] = await deadLetters();
    expect(dl).toMatchObject({ code: "too_large", payloadSize: Buffer.byteLength(body) });
    expect(dl!.payload).toBe(body.slice(0, 1024));
    // An unsigned one is refused as `signature` (authentication comes first), truncated.
    const unsigned = await chunked({ [TIMESTAMP_HEADER]: String(nowSeconds()) });
    expect(unsigned.status).toBe(401);
    const sig = (await deadLetters()).find((d) => d.code === "signature")!;
    expect(Buffer.byteLength(sig.payload)).toBe(512);
    // Too many events in one array: also `too_large`.
    const tooMany = JSON.stringify(Array.from({ length: 1001 }, () => 1));
    const many = await post(tooMany);
    expect(many.status).toBe(413);
    expect(many.results[0]?.code).toBe("too_large");
    expect(await messages()).toEqual([]);
  });

  it("answers 400 `invalid_json` to a signed body that is not JSON, kept whole", async () => {
    await start();
    for (const body of ["{not json", Buffer.from([0xc3, 0x28])]) {
      const answer = await post(body);
      expect(answer.status).toBe(400);
      expect(answer.results[0]?.code).toBe("invalid_json");
    }
    const dls = await deadLetters();
    expect(dls.map((d) => d.code)).toEqual(["invalid_json", "invalid_json"]);
    expect(dls.find((d) => d.payloadEncoding === "utf8")?.payload).toBe("{not json");
    expect(dls.find((d) => d.payloadEncoding === "base64")?.payload).toBe("wyg=");
  });

  it("serves only POST on the configured sites' paths", async () => {
    await start();
    const res = await fetch(`${http.url}/webhooks/${site}`);
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    const body = JSON.stringify(event("elsewhere"));
    expect((await post(body, signed(body), "/webhooks/not-a-site")).status).toBe(404);
    expect(await deadLetters()).toEqual([]);
  });

  it("gives each site, and optionally each source, its own secret: a sender of one site cannot post for another", async () => {
    const SECRET_B = "whsec-site-b-0123456789abcdef0123456789";
    const SECRET_MES = "whsec-mes-source-0123456789abcdef01234";
    const siteB = randomName("site");
    await start(() => ({
      secret: undefined,
      sites: [site, siteB],
      secrets: { [site]: SECRET, [siteB]: SECRET_B, [`${site}/mes`]: SECRET_MES },
    }));
    const signedWith = (secret: string, body: string, source?: string) => {
      const ts = nowSeconds();
      return {
        [TIMESTAMP_HEADER]: String(ts),
        [SIGNATURE_HEADER]: sign(secret, ts, body),
        ...(source && { [SOURCE_HEADER]: source }),
      };
    };
    const forB = JSON.stringify({ ...samples.scrap, site: siteB, id: "b-1" });
    // site A's sender signs for site B: refused, kept as a `signature` dead letter of site B
    const crossed = await post(forB, signedWith(SECRET, forB), `/webhooks/${siteB}`);
    expect(crossed.status).toBe(401);
    expect(crossed.results).toMatchObject([{ code: "signature" }]);
    expect((await h.store.listDeadLetters({ site: siteB, limit: 10 })).map((d) => d.code)).toEqual([
      "signature",
    ]);
    expect((await post(forB, signedWith(SECRET_B, forB), `/webhooks/${siteB}`)).status).toBe(202);
    expect((await h.store.listMessages({ site: siteB, limit: 10 })).map((m) => m.eventId)).toEqual([
      "b-1",
    ]);
    // a source with a secret of its own signs with it, not with the site's
    const fromMes = JSON.stringify(event("mes-1"));
    expect((await post(fromMes, signedWith(SECRET, fromMes, "mes"))).status).toBe(401);
    expect((await post(fromMes, signedWith(SECRET_MES, fromMes, "mes"))).status).toBe(202);
    expect((await post(fromMes, signedWith(SECRET_MES, fromMes))).status).toBe(401);
    expect((await messages()).map((m) => m.eventId)).toEqual(["mes-1"]);
  });

  it("keeps the single secret as the default of sites without their own", async () => {
    const SECRET_B = "whsec-site-b-0123456789abcdef0123456789";
    const siteB = randomName("site");
    await start(() => ({ sites: [site, siteB], secrets: { [siteB]: SECRET_B } }));
    const body = JSON.stringify(event("default-1"));
    expect((await post(body)).status).toBe(202);
    const forB = JSON.stringify({ ...samples.scrap, site: siteB, id: "b-2" });
    expect((await post(forB, signed(forB), `/webhooks/${siteB}`)).status).toBe(401);
  });

  it("has no route without a secret: 404, nothing stored", async () => {
    await start({ secret: undefined });
    const body = JSON.stringify(event("off"));
    const res = await fetch(`${http.url}/webhooks/${site}`, {
      method: "POST",
      headers: signed(body),
      body,
    });
    expect(res.status).toBe(404);
    expect(await messages()).toEqual([]);
    expect(await deadLetters()).toEqual([]);
  });
});
