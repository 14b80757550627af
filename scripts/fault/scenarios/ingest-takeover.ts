/**
 * Scenario: a hot standby. Two sidecars of one ingest group (`PLANT_BRIDGE_INGEST_GROUP`) on one
 * private PostgreSQL store and a private Mosquitto; a publisher sends QoS 1 events to the
 * canonical topic; the ingest owner is SIGKILLed `kills` times and the standby takes over the
 * group's persistent session (same client id): what the dead owner had not acknowledged is
 * redelivered to it. The killed sidecar is started again each time and must come up as a
 * ready standby. With `odoo`, both post into a real Odoo 19 (downtime events) and the dead
 * owner's outbox leases are taken over at once.
 *
 * With `lostSessions`, every other "kill" ends the owner's PostgreSQL ownership session instead
 * (pg_terminate_backend): the owner lives on and must step down, then stay a ready standby.
 *
 * Measured: takeover time (kill → the standby reports itself owner on /readyz, and → the first
 * new event stored after the kill). Expect every event stored once, and with Odoo, every
 * document in Odoo once.
 */
import pg from "pg";
import { canonicalTopic } from "../../../sidecar/src/canonical/topics.js";
import { openStore } from "../../../sidecar/src/store/index.js";
import { startOdoo, type OdooServer } from "../../../test/helpers/odoo.js";
import { check, expectedIds } from "../checker.js";
import {
  checkOdoo,
  downtimePayload,
  ODOO_SITE,
  waitForDocuments,
  type OdooCheck,
} from "../odoo.js";
import { publishSequence, range } from "../publisher.js";
import { sleep, type FaultResult } from "../report.js";
import { faultSetup } from "../setup.js";
import { metric, type FaultSidecar } from "../sidecar.js";

export interface IngestTakeoverOptions {
  /**
   * Most events sent; the publisher stops `gapMs` after the last takeover (a killed sidecar's
   * cold start, 20-40 s on a loaded 2-core machine, comes before the next kill).
   */
  events: number;
  kills: number;
  /** Publish rate, events/s. */
  rate: number;
  /** Time between a takeover and the next kill, ms. */
  gapMs: number;
  /** Post into a real Odoo too. */
  odoo: boolean;
  /**
   * Every other kill, end the owner's PostgreSQL ownership session instead (the owner lives
   * on): it must step down and stay a ready standby.
   */
  lostSessions: boolean;
}

export function ingestTakeoverDefaults(scale: number, odoo = false): IngestTakeoverOptions {
  // the publisher stops after the last kill; `events` only bounds it
  return {
    events: Math.round(100_000 * scale),
    kills: 5,
    rate: 200,
    gapMs: 3000,
    odoo,
    lostSessions: true,
  };
}

async function role(s: FaultSidecar): Promise<{ status: number; ingest?: string }> {
  try {
    const r = await fetch(`${s.url}/readyz`, { signal: AbortSignal.timeout(2000) });
    const body = (await r.json()) as { ingest?: string };
    return { status: r.status, ...(body.ingest && { ingest: body.ingest }) };
  } catch {
    return { status: 0 };
  }
}

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number) {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
  return Date.now() - started;
}

export async function ingestTakeover(opts: IngestTakeoverOptions): Promise<FaultResult> {
  const started = Date.now();
  const setup = faultSetup(opts.odoo ? ODOO_SITE : "fault");
  const { cleanup, site } = setup;
  try {
    const pgServer = await setup.postgres();
    const broker = await setup.broker();
    let odoo: OdooServer | undefined;
    if (opts.odoo) {
      odoo = await startOdoo();
      const o = odoo;
      cleanup.add(() => o.destroy());
    }
    const envOf = (name: string) =>
      setup.sidecarEnv({
        name,
        mqttUrl: broker.url,
        store: pgServer.url,
        extra: {
          PLANT_BRIDGE_INGEST_GROUP: "line",
          ...(odoo && {
            PLANT_BRIDGE_ODOO_URL: odoo.url,
            PLANT_BRIDGE_ODOO_DB: odoo.db,
            PLANT_BRIDGE_ODOO_API_KEY: odoo.apiKey,
          }),
        },
      });
    const names = ["ha-a", "ha-b"];
    const sidecars: FaultSidecar[] = [];
    // side by side: a cold start takes 20-40 s on a loaded machine; either may win the lock
    sidecars.push(...(await Promise.all(names.map((name) => setup.sidecar(envOf(name))))));
    const roles = await Promise.all(sidecars.map(role));
    const failures: string[] = [];
    if (
      roles
        .map((r) => r.ingest)
        .sort()
        .join() !== "owner,standby"
    )
      failures.push(`at start: ${JSON.stringify(roles)}`);
    if (roles.some((r) => r.status !== 200)) failures.push(`not ready: ${JSON.stringify(roles)}`);

    const store = await openStore(pgServer.url);
    cleanup.add(() => store.close());
    const newest = async () => (await store.listMessages({ site, limit: 1 }))[0]?.seq ?? 0;

    let stop = false;
    const publishing = publishSequence({
      stop: () => stop,
      url: broker.url,
      topic: canonicalTopic(site),
      site,
      source: "pub1",
      seqs: range(opts.events),
      rate: opts.rate,
      ...(odoo && { payload: downtimePayload("2026-01-01") }),
    });
    let done = false;
    void publishing.finally(() => (done = true));
    const admin = new pg.Client({ connectionString: pgServer.url });
    await admin.connect();
    cleanup.add(() => admin.end());
    let sessionsLost = 0;
    const takeoverMs: number[] = [];
    const firstStoredMs: number[] = [];
    const standbyReadyMs: number[] = [];
    const exitCodes: Array<number | null> = [];
    for (let k = 0; k < opts.kills; k++) {
      await sleep(opts.gapMs);
      if (done) break;
      const now = await Promise.all(sidecars.map(role));
      const o = now.findIndex((r) => r.ingest === "owner");
      if (o < 0 || now.filter((r) => r.ingest === "owner").length !== 1) {
        failures.push(`before kill ${k + 1}: ${JSON.stringify(now)}`);
        break;
      }
      const survivor = sidecars[1 - o]!;
      const lastSeq = await newest();
      const killedAt = Date.now();
      // every other time (with lostSessions): the owner lives on, its PostgreSQL session is lost
      const lose = opts.lostSessions && k % 2 === 1;
      if (lose) {
        const r = await admin.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
           WHERE application_name = $1`,
          [`plant-bridge-ownership:${names[o]}`],
        );
        if (r.rows[0]?.n !== 1) failures.push(`kill ${k + 1}: no ownership session to end`);
      } else exitCodes.push(await sidecars[o]!.kill("SIGKILL"));
      await waitFor(
        "the standby to own",
        async () => (await role(survivor)).ingest === "owner",
        30_000,
      ).catch((err: Error) => {
        const tail = (f: FaultSidecar) => f.proc.output().split("\n").slice(-15).join("\n");
        throw new Error(
          `${err.message} (${lose ? "session lost" : "SIGKILL"}):\n${tail(survivor)}\n---\n${tail(sidecars[o]!)}`,
        );
      });
      takeoverMs.push(Date.now() - killedAt);
      await waitFor(
        "an event stored after the kill",
        async () => (await newest()) > lastSeq,
        30_000,
      );
      firstStoredMs.push(Date.now() - killedAt);
      if (lose) {
        // fenced: it stays up as a ready standby, not connected to the broker
        sessionsLost++;
        const back = await role(sidecars[o]!);
        if (back.status !== 200 || back.ingest !== "standby")
          failures.push(`sidecar ${names[o]} after its session was lost: ${JSON.stringify(back)}`);
        continue;
      }
      const restartAt = Date.now();
      sidecars[o] = await setup.sidecar(envOf(names[o]!));
      standbyReadyMs.push(Date.now() - restartAt);
      const back = await role(sidecars[o]!);
      if (back.status !== 200 || back.ingest !== "standby")
        failures.push(`restarted sidecar ${names[o]}: ${JSON.stringify(back)}`);
    }
    await sleep(opts.gapMs);
    stop = true;
    const pub = await publishing;
    const expected = expectedIds({ pub1: pub.sent });
    // every event stored (the survivors drain what the session still holds)
    let result = await check(store, site, expected);
    const drainStarted = Date.now();
    while (result.missing > 0 && Date.now() - drainStarted < 60_000) {
      await sleep(500);
      result = await check(store, site, expected);
    }
    let inOdoo: OdooCheck | undefined;
    let odooDrainMs: number | undefined;
    if (odoo) {
      const t = await waitForDocuments(odoo, "pub1", pub.sent, 600_000);
      odooDrainMs = t?.allMs;
      await sleep(3000); // a document posted twice would show up now
      inOdoo = await checkOdoo(odoo, ["pub1"], expected);
    }
    const changes = await Promise.all(
      sidecars.map((s) => metric(s, "plant_bridge_ingest_role_changes_total").catch(() => -1)),
    );
    const reclaimed = await Promise.all(
      sidecars.map((s) => metric(s, "plant_bridge_leases_reclaimed_total").catch(() => -1)),
    );
    const codes = await Promise.all(sidecars.map((s) => s.kill("SIGTERM")));
    if (takeoverMs.length < opts.kills)
      failures.push(`only ${takeoverMs.length} kills before the publisher finished`);
    if (result.missing) failures.push(`${result.missing} missing`);
    if (result.duplicated) failures.push(`${result.duplicated} duplicated`);
    if (pub.unacked.length) failures.push(`${pub.unacked.length} never acknowledged by the broker`);
    if (Object.keys(result.deadLetters).length) failures.push("dead letters");
    if (inOdoo?.missing) failures.push(`${inOdoo.missing} missing in Odoo`);
    if (inOdoo?.duplicated) failures.push(`${inOdoo.duplicated} twice in Odoo`);
    if (codes.some((c) => c !== 0)) failures.push(`SIGTERM exit codes ${codes.join(",")}`);
    return {
      scenario: opts.odoo ? "ingest-takeover-odoo" : "ingest-takeover",
      description: `ingest owner SIGKILLed ${exitCodes.length}x and its PostgreSQL session ended ${sessionsLost}x under QoS 1 load; the standby of the group takes over the session${opts.odoo ? ", both posting into a real Odoo" : ""}`,
      params: { ...opts },
      ...result,
      recoveryMs: takeoverMs.length ? Math.max(...takeoverMs) : null,
      drainMs: odooDrainMs ?? null,
      peakRssMiB: Math.max(...sidecars.map((s) => s.peakRssMiB())),
      durationMs: Date.now() - started,
      observed: {
        killToOwnerMs: takeoverMs,
        killToFirstStoredMs: firstStoredMs,
        restartToStandbyReadyMs: standbyReadyMs,
        killedExitCodes: exitCodes,
        sessionsLost,
        roleChanges: changes,
        leasesReclaimed: reclaimed,
        publisher: { ...pub, unacked: pub.unacked.length },
        ...(inOdoo && { odoo: inOdoo }),
      },
      failures,
      at: new Date().toISOString(),
    };
  } finally {
    await cleanup.run();
  }
}
