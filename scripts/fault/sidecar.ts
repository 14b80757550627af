/**
 * A real sidecar child process for a fault scenario, with what the checker wants to know about it:
 * its peak resident memory (VmHWM from /proc, sampled while it runs, kept across restarts), its
 * outbox depth, readiness and metrics over HTTP.
 */
import { readFileSync } from "node:fs";
import { startSidecarProcess, type SidecarProcess } from "../../test/helpers/sidecar-process.js";

export const ADMIN_TOKEN = "fault-harness-admin-token-0123456789";

export interface FaultSidecar {
  proc: SidecarProcess;
  url: string;
  kill(signal: NodeJS.Signals): Promise<number | null>;
  /** Peak RSS in MiB of this process so far. */
  peakRssMiB(): number;
  /** How long it took to be ready (cold start), ms. */
  startMs: number;
  /** How long the last kill() took until the process exited, ms. */
  stopMs?: number;
}

/** Peak RSS (MiB) of a live process, from /proc/<pid>/status; 0 when unreadable. */
export function vmHwmMiB(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export async function startFaultSidecar(env: Record<string, string>): Promise<FaultSidecar> {
  const t0 = Date.now();
  const proc = await startSidecarProcess({
    PLANT_BRIDGE_ADMIN_TOKEN: ADMIN_TOKEN,
    PLANT_BRIDGE_LOG_LEVEL: "warn",
    // e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to see where a scenario's time goes
    ...(process.env.FAULT_SIDECAR_NODE_OPTIONS && {
      NODE_OPTIONS: process.env.FAULT_SIDECAR_NODE_OPTIONS,
    }),
    ...env,
  });
  let peak = 0;
  const sample = () => (peak = Math.max(peak, vmHwmMiB(proc.child.pid)));
  const timer = setInterval(sample, 250);
  timer.unref();
  const sidecar: FaultSidecar = {
    proc,
    url: `http://127.0.0.1:${proc.httpPort}`,
    startMs: Date.now() - t0,
    async kill(signal) {
      sample();
      clearInterval(timer);
      const t = Date.now();
      const code = await proc.kill(signal);
      sidecar.stopMs ??= Date.now() - t;
      return code;
    },
    peakRssMiB: () => (sample(), peak),
  };
  return sidecar;
}

/** Unsettled outbox rows of a site (without Odoo: every event the store kept). */
export async function pending(sidecar: FaultSidecar, site: string): Promise<number> {
  const r = await fetch(`${sidecar.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ query: "{ sidecar { sites { site pending } } }" }),
    signal: AbortSignal.timeout(5000),
  });
  const body = (await r.json()) as {
    data?: { sidecar: { sites: Array<{ site: string; pending: number }> } };
  };
  return body.data?.sidecar.sites.find((s) => s.site === site)?.pending ?? 0;
}

export async function readyz(
  sidecar: FaultSidecar,
): Promise<{ status: number; reasons: string[] }> {
  const r = await fetch(`${sidecar.url}/readyz`, { signal: AbortSignal.timeout(5000) });
  const body = (await r.json()) as { reasons?: string[] };
  return { status: r.status, reasons: body.reasons ?? [] };
}

/** Sum of a Prometheus counter's samples (all label sets). */
export async function metric(sidecar: FaultSidecar, name: string): Promise<number> {
  const res = await fetch(`${sidecar.url}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${text.slice(0, 200)}`);
  let sum = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
      sum += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return sum;
}

/**
 * Polls `pending` until it reaches `target` or `timeoutMs` passes; resolves the ms it took, or
 * undefined on timeout. Errors (a sidecar restarting) count as not there yet.
 */
export async function waitForPending(
  sidecar: FaultSidecar,
  site: string,
  target: number,
  timeoutMs: number,
): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const n = await pending(sidecar, site).catch(() => -1);
    if (n >= target) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}
