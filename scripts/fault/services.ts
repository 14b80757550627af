/**
 * Private real services for fault scenarios, on free loopback ports, each in its own temp dir:
 * a Mosquitto that can be killed and started again on the same persistence file, a PostgreSQL
 * cluster (initdb + pg_ctl, trust auth), and a small tmpfs to fill up. Never the machine's own.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { tcpReachable } from "../../test/helpers/services.js";
import { freePort } from "../../test/helpers/sidecar-process.js";

const run = promisify(execFile);

export interface Broker {
  url: string;
  port: number;
  dir: string;
  /** Starts it (again) on the same config and persistence file. */
  start(): Promise<void>;
  /** Sends `signal`, resolves on exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

export async function privateMosquitto(extraConfig: string[] = []): Promise<Broker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "pb-fault-mosquitto-"));
  // Started as root, Mosquitto drops to its own user: it must be able to write its persistence
  // file and log here, or it saves nothing on the way out (and says so only in its log).
  await ownBy("mosquitto", dir);
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "persistence true",
      `persistence_location ${dir}/`,
      "max_queued_messages 1000000",
      `log_dest file ${dir}/mosquitto.log`,
      ...extraConfig,
      "",
    ].join("\n"),
  );
  let child: ChildProcess | undefined;
  const broker: Broker = {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    dir,
    async start() {
      const c = spawn("mosquitto", ["-c", conf], { stdio: "ignore" });
      child = c;
      for (let i = 0; i < 200 && !(await tcpReachable("127.0.0.1", port, 200)); i++) {
        if (c.exitCode !== null) throw new Error(`mosquitto exited with ${c.exitCode}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    async kill(signal) {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      await new Promise<void>((resolve) => {
        c.once("exit", () => resolve());
        c.kill(signal);
      });
    },
    async destroy() {
      await broker.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await broker.start();
  return broker;
}

export interface Postgres {
  url: string;
  port: number;
  dir: string;
  start(): Promise<void>;
  /** `pg_ctl stop -m <mode>` */
  stop(mode: "fast" | "immediate"): Promise<void>;
  destroy(): Promise<void>;
}

/** Gives `dir` to `user` when we run as root and the user exists (a service that drops to it). */
async function ownBy(user: string, dir: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  try {
    const { stdout: uid } = await run("id", ["-u", user]);
    const { stdout: gid } = await run("id", ["-g", user]);
    chownSync(dir, Number(uid.trim()), Number(gid.trim()));
  } catch {
    // no such user: the service keeps running as root
  }
}

/** The binaries of the newest PostgreSQL installed under /usr/lib/postgresql, if any. */
export function postgresBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] && join(root, versions[0], "bin");
}

/** Runs a PostgreSQL binary, as the `postgres` user when we are root (initdb refuses root). */
async function pgRun(bin: string, args: string[]): Promise<void> {
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await run("runuser", ["-u", "postgres", "--", bin, ...args], { timeout: 60_000 });
  else await run(bin, args, { timeout: 60_000 });
}

export async function privatePostgres(): Promise<Postgres> {
  const bin = postgresBin();
  if (!bin) throw new Error("no PostgreSQL binaries under /usr/lib/postgresql");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "pb-fault-pg-"));
  const data = join(dir, "data");
  await ownBy("postgres", dir);
  await pgRun(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const pg: Postgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    async start() {
      await pgRun(join(bin, "pg_ctl"), [
        "-D",
        data,
        "-l",
        join(dir, "postgres.log"),
        "-w",
        "-o",
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
        "start",
      ]);
    },
    async stop(mode) {
      await pgRun(join(bin, "pg_ctl"), ["-D", data, "-m", mode, "-w", "stop"]).catch(
        () => undefined, // already stopped
      );
    },
    async destroy() {
      await pg.stop("immediate");
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await pg.start();
  return pg;
}

export interface Tmpfs {
  dir: string;
  /** Writes a filler file until the file system is full; resolves the bytes written. */
  fill(): Promise<number>;
  /** Deletes the filler. */
  free(): void;
  unmount(): Promise<void>;
}

/** Mounts a tmpfs of `sizeMiB` on a new temp dir (needs root); throws when mount fails. */
export async function mountTmpfs(sizeMiB: number): Promise<Tmpfs> {
  const dir = mkdtempSync(join(tmpdir(), "pb-fault-tmpfs-"));
  try {
    await run("mount", ["-t", "tmpfs", "-o", `size=${sizeMiB}m`, "tmpfs", dir], {
      timeout: 10_000,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const filler = join(dir, "filler.bin");
  return {
    dir,
    async fill() {
      // dd stops at ENOSPC (exit status 1): what it wrote is the size it reports
      await run("dd", ["if=/dev/zero", `of=${filler}`, "bs=64k"], { timeout: 60_000 }).catch(
        () => undefined,
      );
      const { stdout } = await run("stat", ["-c", "%s", filler]);
      return Number(stdout.trim());
    },
    free() {
      rmSync(filler, { force: true });
    },
    async unmount() {
      let unmounted = false;
      for (let i = 0; i < 20 && !unmounted; i++) {
        unmounted = await run("umount", [dir], { timeout: 10_000 }).then(
          () => true,
          () => new Promise<boolean>((r) => setTimeout(() => r(false), 250)), // still busy
        );
      }
      // never leave it mounted: detach it; it goes away once the last file on it is closed
      if (!unmounted) await run("umount", ["-l", dir], { timeout: 10_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
