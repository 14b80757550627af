/**
 * The setup every fault scenario shares: a private broker, a store (a SQLite file in a fresh
 * folder, or a private PostgreSQL), sidecars on them as child processes, and one cleanup that
 * takes it all down in reverse order (sidecars killed first, folders removed last).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cleanup } from "./report.js";
import { privateMosquitto, privatePostgres, type Broker, type Postgres } from "./services.js";
import { startFaultSidecar, type FaultSidecar } from "./sidecar.js";

/** A fault sidecar's environment; the store is read back by the checker. */
export type SidecarEnv = Record<string, string> & { PLANT_BRIDGE_STORE: string };

export interface FaultSetup {
  /** The site every scenario's sidecars serve. */
  site: string;
  cleanup: Cleanup;
  /** A fresh temporary folder, removed at the end. */
  tempDir(name: string): string;
  /** A private Mosquitto, destroyed at the end. */
  broker(extraConfig?: string[]): Promise<Broker>;
  /** A private PostgreSQL, destroyed at the end. */
  postgres(): Promise<Postgres>;
  /** The environment of a sidecar of this site on `mqttUrl` and `store`, plus `extra`. */
  sidecarEnv(options: {
    name: string;
    mqttUrl: string;
    store: string;
    extra?: Record<string, string>;
  }): SidecarEnv;
  /** Starts a sidecar; it is killed at the end if still running. */
  sidecar(env: Record<string, string>): Promise<FaultSidecar>;
}

export function faultSetup(site = "fault"): FaultSetup {
  const cleanup = new Cleanup();
  return {
    site,
    cleanup,
    tempDir(name) {
      const dir = mkdtempSync(join(tmpdir(), `pb-fault-${name}-`));
      cleanup.add(() => rmSync(dir, { recursive: true, force: true }));
      return dir;
    },
    async broker(extraConfig = []) {
      const broker = await privateMosquitto(extraConfig);
      cleanup.add(() => broker.destroy());
      return broker;
    },
    async postgres() {
      const pg = await privatePostgres();
      cleanup.add(() => pg.destroy());
      return pg;
    },
    sidecarEnv({ name, mqttUrl, store, extra }) {
      return {
        PLANT_BRIDGE_MQTT_URL: mqttUrl,
        PLANT_BRIDGE_SITE: site,
        PLANT_BRIDGE_NAME: name,
        PLANT_BRIDGE_STORE: store,
        ...extra,
      };
    },
    async sidecar(env) {
      const sidecar = await startFaultSidecar(env);
      cleanup.add(() => sidecar.kill("SIGKILL").then(() => undefined));
      return sidecar;
    },
  };
}
