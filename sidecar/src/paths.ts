import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The project root (the folder holding package.json), from sources and from the build alike. */
export const PROJECT_ROOT = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error("plant-bridge: cannot find the project root (package.json)");
    dir = parent;
  }
  return dir;
})();

export function projectPath(...parts: string[]): string {
  return join(PROJECT_ROOT, ...parts);
}
