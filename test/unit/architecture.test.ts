/**
 * The dependency rule (docs/ARCHITECTURE.md) holds, and the lint rule that enforces it does
 * report a wrong import: fixture files are linted through ESLint's Node API with the project's
 * own configuration, as if they were in the folder they name.
 */
import { describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ESLint } from "eslint";
import { projectPath } from "../../sidecar/src/paths.js";

const root = projectPath();
const eslint = new ESLint({ cwd: root });
const RULE = "architecture/layers";

async function lintAs(fixture: string, filePath: string): Promise<string[]> {
  const code = readFileSync(join(root, "test", "fixtures", "architecture", fixture), "utf8");
  const [result] = await eslint.lintText(code, { filePath: join(root, filePath) });
  return result!.messages.filter((m) => m.ruleId === RULE).map((m) => m.message);
}

describe("the dependency rule", () => {
  test("an adapter importing another adapter is reported", async () => {
    expect(await lintAs("odoo-imports-ingress.ts.txt", "sidecar/src/odoo/fixture.ts")).toEqual([
      expect.stringContaining("Adapters never import each other (odoo/ -> ingress/)"),
    ]);
  });

  test("the core importing an adapter is reported", async () => {
    expect(await lintAs("pipeline-imports-odoo.ts.txt", "sidecar/src/pipeline/fixture.ts")).toEqual(
      [expect.stringContaining("The core (pipeline/) imports no adapter (odoo/)")],
    );
  });

  test("the browser bundle taking Node-only sidecar code is reported", async () => {
    expect(await lintAs("owl-imports-pipeline.ts.txt", "owl_src/fixture.ts")).toEqual([
      expect.stringContaining("pipeline/ is not browser-safe"),
    ]);
  });

  test("an adapter importing the core is not", async () => {
    expect(await lintAs("egress-imports-core.ts.txt", "sidecar/src/egress/fixture.ts")).toEqual([]);
  });

  test("the sidecar and the OWL sources follow it", async () => {
    const results = await eslint.lintFiles(["sidecar/src", "owl_src"]);
    const problems = results.flatMap((r) =>
      r.messages
        .filter((m) => m.ruleId === RULE)
        .map((m) => `${r.filePath.slice(root.length + 1)}:${m.line} ${m.message}`),
    );
    expect(problems).toEqual([]);
  }, 120_000);
});
