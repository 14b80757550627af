/**
 * The drop folder: which files are ready, reading one without following links, moving it away
 * once its rows are committed. Nothing here builds a path from file content: names come from the
 * folder listing (no separators) and every target stays inside its configured folder.
 *
 * A file is ready when (the writer's convention, see README "Legacy systems"):
 * - its name matches the connector's patterns and does not end with `.part`, `.tmp` or `.lock`,
 *   nor start with `.` (write under such a name, then rename: a rename is atomic);
 * - no `<name>.lock` file and no `.lock` file for the whole folder exists next to it;
 * - it has not been modified for `stableMs`, and its size and modification time are the same
 *   before and after it is read (a writer that is still appending is caught either way).
 */
import { constants, existsSync, lstatSync, realpathSync } from "node:fs";
import { copyFile, lstat, mkdir, open, readdir, rename, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from "node:path";
import picomatch from "picomatch";
import { ConfigError } from "../errors.js";

export interface Candidate {
  name: string;
  path: string;
  size: number;
  mtimeMs: number;
}

const IN_PROGRESS = /\.(part|tmp|lock|filepart|crdownload)$/i;

export async function listReady(
  dir: string,
  patterns: string[],
  options: { stableMs: number; now: number; limit: number },
): Promise<{ ready: Candidate[]; waiting: number }> {
  const isMatch = picomatch(patterns, { nocase: true, dot: false });
  await assertRealFolder(dir);
  const entries = await readdir(dir, { withFileTypes: true });
  const names = new Set(entries.map((e) => e.name));
  if (names.has(".lock")) return { ready: [], waiting: entries.length };
  const ready: Candidate[] = [];
  let waiting = 0;
  for (const entry of entries) {
    // Links are not followed: a link could point anywhere outside the folder.
    if (!entry.isFile() || entry.name.startsWith(".") || IN_PROGRESS.test(entry.name)) continue;
    if (!isMatch(entry.name)) continue;
    if (names.has(`${entry.name}.lock`)) {
      waiting++;
      continue;
    }
    const path = join(dir, entry.name);
    const st = await lstat(path).catch(() => undefined);
    if (!st?.isFile()) continue;
    if (options.now - st.mtimeMs < options.stableMs) {
      waiting++;
      continue;
    }
    ready.push({ name: entry.name, path, size: st.size, mtimeMs: st.mtimeMs });
  }
  // Oldest first: files of one legacy system are usually meant to apply in order.
  ready.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
  return {
    ready: ready.slice(0, options.limit),
    waiting: waiting + Math.max(0, ready.length - options.limit),
  };
}

/**
 * Reads a whole file without following a link; undefined when it changed while being read or is
 * gone. Throws `RangeError` when it is larger than `maxBytes`.
 */
export async function readStable(
  candidate: Candidate,
  maxBytes: number,
): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(candidate.path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (["ENOENT", "ELOOP"].includes((err as NodeJS.ErrnoException).code ?? "")) return undefined;
    throw err;
  }
  try {
    const before = await handle.stat();
    if (!before.isFile()) return undefined;
    if (before.size > maxBytes)
      throw new RangeError(`file of ${before.size} bytes exceeds ${maxBytes}`);
    if (before.size !== candidate.size || before.mtimeMs !== candidate.mtimeMs) return undefined;
    const bytes = await handle.readFile();
    const after = await handle.stat();
    if (
      after.size !== before.size ||
      after.mtimeMs !== before.mtimeMs ||
      bytes.length !== before.size
    )
      return undefined;
    return bytes;
  } finally {
    await handle.close();
  }
}

/**
 * Moves a file into `targetDir` (created when missing) under its own name, or under
 * `<stem>.<suffix><ext>` when that name is taken (the same file dropped again). Returns the path.
 */
export async function moveInto(path: string, targetDir: string, suffix: string): Promise<string> {
  await mkdir(targetDir, { recursive: true });
  // Anyone who can write into the drop folder could swap this folder for a link out of it.
  await assertRealFolder(targetDir);
  const name = basename(path);
  let target = join(targetDir, name);
  if (await exists(target)) {
    const ext = extname(name);
    target = join(targetDir, `${name.slice(0, name.length - ext.length)}.${suffix}${ext}`);
    for (let n = 2; await exists(target); n++)
      target = join(targetDir, `${name.slice(0, name.length - ext.length)}.${suffix}-${n}${ext}`);
  }
  try {
    await rename(path, target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
    await copyFile(path, target, constants.COPYFILE_EXCL);
    await unlink(path);
  }
  return target;
}

/**
 * Writes `<file>.reason.txt` next to a file moved to the error folder, exclusively: a name that
 * exists already (a link planted there) is never written through; the reason then goes to
 * `<file>.reason-<n>.txt`.
 */
export async function writeReason(movedTo: string, reason: Record<string, unknown>): Promise<void> {
  const lines = Object.entries(reason).map(([k, v]) => `${k}: ${String(v)}`);
  for (let n = 1; n < 100; n++) {
    const path = n === 1 ? `${movedTo}.reason.txt` : `${movedTo}.reason-${n}.txt`;
    try {
      await writeFile(path, `${lines.join("\n")}\n`, { mode: 0o640, flag: "wx" });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
}

/** A folder that is a folder, not a symbolic link to one (which could point anywhere). */
async function assertRealFolder(dir: string): Promise<void> {
  const st = await lstat(dir);
  if (st.isSymbolicLink())
    throw new Error(`folder ${dir} is a symbolic link: refused (it could point anywhere)`);
  if (!st.isDirectory()) throw new Error(`${dir} is not a folder`);
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/**
 * A folder configured in Odoo (file drop, file sink, Test Connection) is used only inside
 * PLANT_BRIDGE_LEGACY_ROOTS: without roots, whoever configures connectors in Odoo could make the
 * sidecar read or overwrite any folder it can reach. Throws `roots_required` when none is set.
 * (Folders of the local PLANT_BRIDGE_LEGACY file are the operator's own and need none.)
 */
export function requireRoots(roots: string[], what: string): void {
  if (roots.length === 0)
    throw new ConfigError(
      "roots_required",
      `${what}: PLANT_BRIDGE_LEGACY_ROOTS is not set on this sidecar: folders configured in Odoo are used only inside its roots`,
    );
}

/**
 * Resolves a configured folder: relative ones against `base`. When `roots` are given, the folder
 * must be one of them or inside one (PLANT_BRIDGE_LEGACY_ROOTS), so a connector configured in
 * Odoo cannot make the sidecar read or write anywhere else.
 */
export function confineFolder(folder: string, base: string, roots: string[]): string {
  const full = resolve(base, folder);
  // lstat, not exists: a dangling link is a link too
  if (lstatSync(full, { throwIfNoEntry: false })?.isSymbolicLink())
    throw new Error(`folder ${full} is a symbolic link: refused (it could point anywhere)`);
  if (roots.length === 0) return full;
  // Real paths on both sides: a link inside a root may point out of it.
  const real = realPathOf(full);
  const inside = roots.some((root) => {
    const rel = relative(realPathOf(resolve(root)), real);
    return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
  });
  if (!inside) throw new Error(`folder ${full} is outside PLANT_BRIDGE_LEGACY_ROOTS`);
  return full;
}

/** The real path of `path`, through its deepest existing ancestor (the rest may not exist yet). */
function realPathOf(path: string): string {
  if (existsSync(path)) return realpathSync(path);
  const parent = dirname(path);
  return parent === path ? path : join(realPathOf(parent), basename(path));
}
