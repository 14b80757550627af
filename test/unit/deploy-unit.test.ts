/**
 * The systemd unit of deploy/: its hardening options are there, systemd itself accepts it
 * (`systemd-analyze verify`, no warning) and rates its exposure (`systemd-analyze security`),
 * and the example environment file is a configuration the sidecar accepts.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../sidecar/src/config.js";
import { projectPath } from "../../sidecar/src/paths.js";

const unitText = readFileSync(projectPath("deploy/plant-bridge.service"), "utf8");

/** `[Section]` → key → values (a key may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf("=");
    if (!current || eq < 0) throw new Error(`not a unit line: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

const systemdAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;

describe("deploy/plant-bridge.service", () => {
  const service = parseUnit(unitText).get("Service")!;
  const one = (key: string) => service.get(key)?.at(-1);

  it("runs the sidecar unprivileged with the filesystem read-only but its state folder", () => {
    expect(one("DynamicUser")).toBe("yes");
    expect(one("ProtectSystem")).toBe("strict");
    expect(one("StateDirectory")).toBe("plant-bridge");
    expect(one("ReadWritePaths")).toBe("/var/lib/plant-bridge");
    expect(service.get("Environment")).toContain(
      "PLANT_BRIDGE_STORE=/var/lib/plant-bridge/plant-bridge.db",
    );
    for (const [key, value] of [
      ["NoNewPrivileges", "yes"],
      ["PrivateTmp", "yes"],
      ["PrivateDevices", "yes"],
      ["ProtectHome", "yes"],
      ["RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"],
      ["CapabilityBoundingSet", ""],
      ["RestrictSUIDSGID", "yes"],
      ["UMask", "0077"],
    ])
      expect([key, one(key!)]).toEqual([key, value]);
    expect(one("ExecStart")).toMatch(/ bin\/plant-bridge\.js start$|plant-bridge\.js start$/);
    expect(one("EnvironmentFile")).toBe("/etc/plant-bridge/plant-bridge.env");
    expect(one("RestartPreventExitStatus")).toBe("2"); // a bad configuration: exit code 2
  });

  (systemdAnalyze ? it : it.skip)("is accepted by systemd-analyze verify without a warning", () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-unit-"));
    writeFileSync(join(dir, "plant-bridge.env"), "");
    // The paths of this checkout instead of /opt and /etc, so that verify can check them.
    const unit = join(dir, "plant-bridge.service");
    writeFileSync(
      unit,
      unitText
        .replaceAll("/usr/bin/node", process.execPath)
        .replaceAll("/opt/plant-bridge", projectPath())
        .replaceAll("/etc/plant-bridge/plant-bridge.env", join(dir, "plant-bridge.env")),
    );
    const r = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" });
    expect({ status: r.status, stderr: r.stderr.trim() }).toEqual({ status: 0, stderr: "" });
    const security = execFileSync("systemd-analyze", ["security", "--offline=yes", unit], {
      encoding: "utf8",
    });
    const exposure = /Overall exposure level for \S+: ([\d.]+)/.exec(security);
    expect(Number(exposure?.[1])).toBeLessThanOrEqual(2); // docs/SCALE.md "Deployment"
  });

  it("comes with an environment file example the sidecar accepts", () => {
    const env: Record<string, string> = {};
    for (const line of readFileSync(projectPath("deploy/plant-bridge.env.example"), "utf8").split(
      "\n",
    )) {
      const m = /^(PLANT_BRIDGE_[A-Z_]+)=(.*)$/.exec(line);
      if (m) env[m[1]!] = m[2]!;
    }
    const config = loadConfig(env);
    expect(config.odoo?.url).toBe("https://odoo.example.com");
    expect(config.name).toBe("plant-a-edge-1");
  });
});
