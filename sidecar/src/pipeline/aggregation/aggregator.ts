/**
 * Turns streams of mapped readings into the few events Odoo should see (spec.ts), keeping its
 * state as durable key/value entries (`agg/<mapping>/<unit>`) written in the SAME store
 * transaction as the events they emitted: after a SIGKILL the state and the outbox agree, so a
 * redelivered reading is neither lost nor counted twice.
 *
 * Each write carries a compare-and-set on the value written before it. The mapping engine
 * submits message after message without waiting for commits (group commit); if one commit
 * fails, a later write of the same unit no longer finds the value it expects and fails too,
 * instead of committing a state that counts what the failed one did not post. The engine then
 * reloads the state from the store (`invalidate`) and the broker redelivers what was not
 * acknowledged.
 *
 * Identities are deterministic (hashes of the event's other fields), and so are the ids of the
 * emitted events: `<mapping>-<unit>-<window start>`.
 */
import { createHash } from "node:crypto";
import type { StateWrite, Store } from "../../store/types.js";
import type { AggregationSpec, CounterSpec, StateSpec, TelemetrySpec } from "./spec.js";
import { shiftBoundaries, splitAtShifts, windowOf } from "./time.js";

export const STATE_PREFIX = "agg/";
/** Closed windows are remembered this long, to tell late readings from new ones. */
const CLOSED_MEMORY_MS = 2 * 86_400_000;
/** Message keys a `delta` counter remembers to drop redeliveries. */
const DELTA_MEMORY = 256;

export type Fields = Record<string, unknown>;

export interface AggregationTarget {
  /** The mapping's stable reference (`m12`): state and ids are per mapping, not per version. */
  ref: string;
  spec: AggregationSpec;
}

export interface Emission {
  events: Fields[];
  /** Readings that could not be used (no number, no time...): dead letters. */
  errors: Array<{ message: string; sample: Fields }>;
}

export interface Aggregator {
  /** Reads the state from the store (again after `invalidate`). */
  ensureLoaded(): Promise<void>;
  /** The state is in memory (no `ensureLoaded` needed). */
  isLoaded(): boolean;
  /**
   * Applies the readings one message produced (received at `receivedAt`, epoch ms); returns the
   * events to post with it.
   */
  apply(
    target: AggregationTarget,
    samples: Fields[],
    messageKey: string,
    receivedAt: number,
  ): Emission;
  /** Closes what the clock has closed (windows, shift changes during a downtime). */
  tick(target: AggregationTarget, now: number): Emission;
  /** The writes of a mapping's state changed since the last call, with compare-and-set. */
  takeWrites(ref: string): StateWrite[];
  /** A commit failed: memory may be ahead of the store. */
  invalidate(): void;
  /** Units held (for tests and metrics). */
  size(): number;
}

interface CounterSeries {
  k: "cs" | "cd";
  last?: number;
  at?: number;
  recent?: string[];
}
interface OpenWindow {
  s: number;
  e: number;
  q: number;
  n: number;
  min?: number;
  max?: number;
  f?: boolean;
}
/**
 * How far behind the clock a source's readings are (`lag`, ms: receipt time minus reading time
 * of the last one) and when it last sent (`seen`). The clock closes a window, or cuts a downtime
 * at a shift change, only once the source's own time has passed it: a node replaying hours of
 * store-and-forward data must not have its windows closed by the wall clock under its feet.
 */
interface Pace {
  lag?: number;
  seen?: number;
}
interface WindowGroup extends Pace {
  k: "cw" | "tw";
  tpl: Fields;
  win: OpenWindow | null;
  closed: number;
}
interface MachineState extends Pace {
  k: "sm";
  tpl: Fields;
  st: string;
  /** Start of the part of the current state not yet posted. */
  since: number;
  /** Start of the current state. */
  began: number;
  at: number;
  reason?: string;
}
type Unit = CounterSeries | WindowGroup | MachineState;

export function createAggregator(options: { store: Store }): Aggregator {
  const units = new Map<string, Unit>();
  /** What the store holds (or will, once submitted writes commit), per key. */
  const written = new Map<string, string | null>();
  const dirty = new Map<string, Set<string>>();
  let loaded = false;
  /** Receipt time of the message being applied. */
  let receivedAt = 0;
  const pace = (unit: Pace, t: number) => {
    unit.lag = Math.max(0, receivedAt - t);
    unit.seen = receivedAt;
  };

  const refOf = (key: string) =>
    key.slice(STATE_PREFIX.length, key.indexOf("/", STATE_PREFIX.length));
  function touch(key: string, unit: Unit | undefined): void {
    if (unit) units.set(key, unit);
    else units.delete(key);
    const ref = refOf(key);
    let set = dirty.get(ref);
    if (!set) dirty.set(ref, (set = new Set()));
    set.add(key);
  }
  function unitsOf(ref: string): Array<[string, Unit]> {
    const prefix = `${STATE_PREFIX}${ref}/`;
    return [...units].filter(([k]) => k.startsWith(prefix));
  }

  function counter(
    target: AggregationTarget,
    spec: CounterSpec,
    sample: Fields,
    msgKey: string,
    index: number,
    out: Emission,
  ): void {
    const t = timeOf(sample);
    const v = sample[spec.value];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || t === undefined) {
      out.errors.push({
        message: `a counter reading needs a number >= 0 in "${spec.value}" and a valid occurredAt`,
        sample,
      });
      return;
    }
    const tpl = omit(sample, ["id", "occurredAt", spec.value]);
    const group = identity(tpl);
    if (tooLarge(group, sample, out)) return;
    const seriesId = spec.series ? pathOf(sample, spec.series) : group;
    if (seriesId === undefined) {
      out.errors.push({ message: `the counter reading has no "${spec.series}"`, sample });
      return;
    }
    const sKey = unitKey(target.ref, "c", String(seriesId));
    const series = (units.get(sKey) as CounterSeries | undefined) ?? {
      k: spec.mode === "delta" ? "cd" : "cs",
    };
    let delta: number;
    if (spec.mode === "delta") {
      const id = `${msgKey}/${index}`;
      series.recent ??= [];
      if (series.recent.includes(id)) return; // a redelivered message
      series.recent.push(id);
      if (series.recent.length > DELTA_MEMORY)
        series.recent.splice(0, series.recent.length - DELTA_MEMORY);
      delta = v;
    } else if (series.last === undefined || series.at === undefined) {
      delta = 0; // the first reading is the baseline
    } else if (t <= series.at) {
      return; // older than what was counted: a redelivery or out of order
    } else if (v >= series.last) {
      delta = v - series.last;
    } else {
      // Reset (or wrap-around of a counter with a known range).
      delta = spec.rollover !== undefined ? spec.rollover - series.last + v : v;
    }
    if (spec.mode === "cumulative") {
      series.last = v;
      series.at = t;
    }
    touch(sKey, series);
    if (delta > 0) addToWindow(target, "c", spec, tpl, t, delta, sample, out, `${msgKey}/${index}`);
  }

  function addToWindow(
    target: AggregationTarget,
    letter: "c" | "t",
    spec: CounterSpec | TelemetrySpec,
    tpl: Fields,
    t: number,
    value: number,
    sample: Fields,
    out: Emission,
    lateId: string,
  ): void {
    // A telemetry reading's own pass/fail does not make another summary.
    const groupId = identity(omit(tpl, ["result"]));
    const gKey = unitKey(target.ref, letter === "c" ? "w" : "t", groupId);
    const g = (units.get(gKey) as WindowGroup | undefined) ?? {
      k: letter === "c" ? "cw" : "tw",
      tpl,
      win: null,
      closed: 0,
    };
    const w = windowOf(spec.window, t);
    if (w.start < g.closed || (g.win && w.start < g.win.s)) {
      // Late: its window was already posted. A counter posts the increment on its own; a
      // telemetry summary is not reopened.
      if (letter === "c") {
        out.events.push(
          windowEvent(
            target,
            spec,
            g.tpl,
            { s: w.start, e: w.end, q: value, n: 1 },
            groupId,
            `-late-${hash(lateId).slice(0, 8)}`,
          ),
        );
      }
      return;
    }
    if (g.win && w.start > g.win.s) {
      out.events.push(windowEvent(target, spec, g.tpl, g.win, groupId));
      g.closed = g.win.e;
      g.win = null;
    }
    pace(g, t);
    g.win ??= { s: w.start, e: w.end, q: 0, n: 0 };
    g.win.q += value;
    g.win.n += 1;
    if (letter === "t") {
      g.win.min = Math.min(g.win.min ?? value, value);
      g.win.max = Math.max(g.win.max ?? value, value);
      if (sample.result === "fail") g.win.f = true;
    }
    touch(gKey, g);
  }

  function windowEvent(
    target: AggregationTarget,
    spec: CounterSpec | TelemetrySpec,
    tpl: Fields,
    win: OpenWindow,
    groupId: string,
    suffix = "",
  ): Fields {
    const attributes = { ...((tpl.attributes as Fields | undefined) ?? {}) };
    const event: Fields = { ...tpl, occurredAt: iso(win.e) };
    if (spec.kind === "counter") {
      event[spec.value] = round(win.q);
      Object.assign(attributes, {
        windowStart: iso(win.s),
        windowEnd: iso(win.e),
        readings: win.n,
      });
    } else {
      event[spec.value] = round(win.q / win.n);
      const outside =
        (spec.low !== undefined && win.min! < spec.low) ||
        (spec.high !== undefined && win.max! > spec.high);
      event.result = outside || win.f ? "fail" : "pass";
      Object.assign(attributes, {
        windowStart: iso(win.s),
        windowEnd: iso(win.e),
        min: win.min,
        max: win.max,
        count: win.n,
      });
    }
    if (Object.keys(attributes).length <= 50) event.attributes = attributes;
    event.id = `${target.ref}-${spec.kind === "counter" ? "w" : "t"}${hash(groupId).slice(0, 16)}-${win.s.toString(36)}${suffix}`;
    return event;
  }

  function telemetry(
    target: AggregationTarget,
    spec: TelemetrySpec,
    sample: Fields,
    out: Emission,
  ): void {
    const t = timeOf(sample);
    const v = sample[spec.value];
    if (typeof v !== "number" || !Number.isFinite(v) || t === undefined) {
      out.errors.push({
        message: `a telemetry reading needs a number in "${spec.value}" and a valid occurredAt`,
        sample,
      });
      return;
    }
    const tpl = omit(sample, ["id", "occurredAt", spec.value]);
    if (tooLarge(identity(tpl), sample, out)) return;
    addToWindow(target, "t", spec, tpl, t, v, sample, out, "");
  }

  function machine(
    target: AggregationTarget,
    spec: StateSpec,
    sample: Fields,
    out: Emission,
  ): void {
    const t = timeOf(sample);
    const status = sample.status;
    if (typeof status !== "string" || t === undefined) {
      out.errors.push({
        message: "a machine state reading needs a status and a valid occurredAt",
        sample,
      });
      return;
    }
    const tpl = omit(sample, ["id", "occurredAt", "status", "reason", "counters", "attributes"]);
    const unitId = identity(tpl);
    if (tooLarge(unitId, sample, out)) return;
    const key = unitKey(target.ref, "s", unitId);
    const reason = typeof sample.reason === "string" && sample.reason ? sample.reason : undefined;
    const m = units.get(key) as MachineState | undefined;
    const statusEvent = () => {
      if (spec.emitStatus)
        out.events.push({
          ...omit(sample, ["id"]),
          id: `${target.ref}-s${hash(unitId).slice(0, 16)}-${t.toString(36)}`,
        });
    };
    if (!m) {
      const first: MachineState = { k: "sm", tpl, st: status, since: t, began: t, at: t };
      if (reason) first.reason = reason;
      pace(first, t);
      touch(key, first);
      statusEvent();
      return;
    }
    if (t < m.at || (t === m.at && status === m.st)) return; // out of order or repeated
    if (status === m.st) {
      m.at = t;
      pace(m, t);
      if (!m.reason && reason && spec.down.includes(status)) m.reason = reason;
      touch(key, m);
      return;
    }
    if (spec.down.includes(m.st)) out.events.push(...downtime(target, spec, m, unitId, t));
    const next: MachineState = { k: "sm", tpl, st: status, since: t, began: t, at: t };
    if (reason) next.reason = reason;
    pace(next, t);
    touch(key, next);
    statusEvent();
  }

  function downtime(
    target: AggregationTarget,
    spec: StateSpec,
    m: MachineState,
    unitId: string,
    end: number,
  ): Fields[] {
    if (end - m.began < spec.minDurationMs || end <= m.since) return [];
    const parts = spec.shifts
      ? splitAtShifts(spec.shifts, m.since, end)
      : [{ start: m.since, end }];
    return parts
      .filter((p) => p.end > p.start)
      .map((p) => ({
        type: "downtime",
        site: m.tpl.site,
        workcenter: m.tpl.workcenter,
        reason: m.reason ?? spec.reason,
        start: iso(p.start),
        end: iso(p.end),
        occurredAt: iso(p.end),
        description: `${m.st} from ${iso(m.began)}`,
        id: `${target.ref}-d${hash(unitId).slice(0, 16)}-${p.start.toString(36)}`,
      }));
  }

  return {
    async ensureLoaded() {
      if (loaded) return;
      units.clear();
      written.clear();
      dirty.clear();
      for (const entry of await options.store.listState(STATE_PREFIX)) {
        written.set(entry.key, entry.value);
        try {
          units.set(entry.key, JSON.parse(entry.value) as Unit);
        } catch {
          // Not ours or damaged: start this unit afresh (the write will replace it).
        }
      }
      loaded = true;
    },

    apply(target, samples, messageKey, at) {
      receivedAt = at;
      const out: Emission = { events: [], errors: [] };
      samples.forEach((sample, index) => {
        const spec = target.spec;
        if (spec.kind === "counter") counter(target, spec, sample, messageKey, index, out);
        else if (spec.kind === "state") machine(target, spec, sample, out);
        else telemetry(target, spec, sample, out);
      });
      return out;
    },

    tick(target, now) {
      const out: Emission = { events: [], errors: [] };
      const spec = target.spec;
      for (const [key, unit] of unitsOf(target.ref)) {
        if ((unit.k === "cw" || unit.k === "tw") && spec.kind !== "state") {
          if ((unit.k === "cw") !== (spec.kind === "counter")) continue;
          // The source's own time; a source silent for a whole window is taken as caught up.
          const sourceNow = now - (unit.lag ?? 0);
          const silent =
            unit.win !== null && now - (unit.seen ?? 0) > unit.win.e - unit.win.s + spec.latenessMs;
          if (unit.win && (unit.win.e + spec.latenessMs <= sourceNow || silent)) {
            out.events.push(
              windowEvent(target, spec, unit.tpl, unit.win, identity(omit(unit.tpl, ["result"]))),
            );
            unit.closed = unit.win.e;
            unit.win = null;
            touch(key, unit);
          } else if (!unit.win && now - unit.closed > CLOSED_MEMORY_MS) {
            touch(key, undefined);
          }
        } else if (
          unit.k === "sm" &&
          spec.kind === "state" &&
          spec.shifts &&
          spec.down.includes(unit.st)
        ) {
          const sourceNow = now - (unit.lag ?? 0) - spec.latenessMs;
          for (const b of shiftBoundaries(spec.shifts, unit.since, sourceNow)) {
            if (b - unit.began < spec.minDurationMs) continue;
            out.events.push(...downtime(target, spec, unit, identity(unit.tpl), b));
            unit.since = b;
            touch(key, unit);
          }
        }
      }
      return out;
    },

    takeWrites(ref) {
      const keys = dirty.get(ref);
      if (!keys) return [];
      dirty.delete(ref);
      const writes: StateWrite[] = [];
      for (const key of [...keys].sort()) {
        const unit = units.get(key);
        const value = unit === undefined ? null : JSON.stringify(unit);
        const expect = written.get(key) ?? null;
        if (value === expect) continue;
        writes.push({ key, value, expect });
        written.set(key, value);
      }
      return writes;
    },

    invalidate() {
      loaded = false;
    },

    isLoaded: () => loaded,

    size: () => units.size,
  };
}

/**
 * The fields of a group are kept in its state: a reading whose other fields are huge (a raw
 * dump in `attributes`) is refused rather than stored with every window.
 */
const MAX_GROUP_CHARS = 16 * 1024;

function tooLarge(identityText: string, sample: Fields, out: Emission): boolean {
  if (identityText.length <= MAX_GROUP_CHARS) return false;
  out.errors.push({
    message: `the reading's other fields take ${identityText.length} characters; an aggregated reading may have ${MAX_GROUP_CHARS}`,
    sample,
  });
  return true;
}

function unitKey(ref: string, letter: string, id: string): string {
  return `${STATE_PREFIX}${ref}/${letter}/${hash(id).slice(0, 32)}`;
}

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function timeOf(sample: Fields): number | undefined {
  const t = typeof sample.occurredAt === "string" ? Date.parse(sample.occurredAt) : NaN;
  return Number.isFinite(t) ? t : undefined;
}

function iso(t: number): string {
  return new Date(t).toISOString();
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

function omit(o: Fields, keys: string[]): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(o)) if (!keys.includes(k)) out[k] = v;
  return out;
}

function pathOf(o: Fields, path: string): string | undefined {
  let v: unknown = o;
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object" || !Object.prototype.hasOwnProperty.call(v, part))
      return undefined;
    v = (v as Fields)[part];
  }
  return v === undefined || v === null
    ? undefined
    : typeof v === "object"
      ? JSON.stringify(v)
      : String(v);
}

/** JSON with sorted keys: the same fields give the same identity whatever their order. */
export function identity(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(identity).join(",")}]`;
  const o = value as Fields;
  return `{${Object.keys(o)
    .sort()
    .filter((k) => o[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${identity(o[k])}`)
    .join(",")}}`;
}
