/**
 * Legacy file contents through the file drop's parsing (decodeFile, readRecords) and the
 * canonical-rows mapper into a real ingestor and SQLite store, as file-source.ts does it: a file
 * that cannot be read is one `schema` dead letter (any other exception fails the whole pull), a
 * row that cannot be read is a `schema` dead letter, every other row an event or its rejection.
 */
import type { FileFormat } from "../../../sidecar/src/contracts/connector-params.js";
import { createHash } from "node:crypto";
import { createEventChecker, type ParsedItem } from "../../../sidecar/src/canonical/parse.js";
import type { EventType } from "../../../sidecar/src/canonical/schema.js";
import {
  decodeFile,
  FileFormatError,
  readRecords,
} from "../../../sidecar/src/ingress/legacy/file-drop/formats.js";
import {
  createCanonicalRowMapper,
  locate,
  rowRejection,
  type RowContext,
} from "../../../sidecar/src/ingress/legacy/rows.js";
import { at } from "../../helpers/samples.js";
import { randomName } from "../../helpers/services.js";
import { validId, type LegacyKind } from "../arbitraries.js";
import {
  isKnownOutcome,
  missingOrDoubled,
  openFuzzStore,
  type FuzzTarget,
  type Saved,
} from "../harness.js";
import { loadBytes, saveBytes } from "./bytes.js";

export const FORMATS: Record<LegacyKind, FileFormat> = {
  csv: { format: "csv", delimiter: ",", quote: '"', header: true, skipLines: 0, trim: true },
  fixed: {
    format: "fixed",
    columns: [
      { name: "id", start: 1, length: 30 },
      { name: "type", start: 31, length: 10 },
      { name: "product", start: 41, length: 10 },
      { name: "quantity", start: 51, length: 5 },
      { name: "occurredAt", start: 56, length: 25 },
    ],
    skipLines: 0,
    trim: true,
  },
  xml: { format: "xml", recordPath: "export.events.event" },
};

export interface FileInput {
  kind: LegacyKind;
  content: string | Uint8Array;
}

/** A file of one valid scrap row in a format. */
function validFile(kind: LegacyKind, id: string): string {
  const row = { id, type: "scrap", product: "FURN_8522", quantity: "2", occurredAt: at };
  if (kind === "csv") return `${Object.keys(row).join(",")}\n${Object.values(row).join(",")}\n`;
  if (kind === "fixed")
    return `${id.padEnd(30)}${"scrap".padEnd(10)}${"FURN_8522".padEnd(10)}${"2".padEnd(5)}${at}\n`;
  const fields = Object.entries(row)
    .map(([k, v]) => `<${k}>${v}</${k}>`)
    .join("");
  return `<?xml version="1.0"?><export><events><event>${fields}</event></events></export>`;
}

export async function legacyTarget(): Promise<FuzzTarget<FileInput>> {
  const fz = await openFuzzStore();
  const site = randomName("fz");
  const mapper = createCanonicalRowMapper({ check: createEventChecker() });
  let files = 0;

  /** What file-source.ts commits for one file. */
  async function itemsOf(kind: LegacyKind, bytes: Buffer): Promise<ParsedItem[]> {
    const name = `fuzz-${++files}.${kind}`;
    const sha = createHash("sha256").update(bytes).digest("hex");
    const fileCtx = { site, source: "file" as const, origin: `file:${name}` };
    const items: ParsedItem[] = [];
    try {
      const text = decodeFile(bytes, undefined, FORMATS[kind]);
      for await (const record of readRecords(text, FORMATS[kind])) {
        const row: RowContext = {
          ...fileCtx,
          origin: `file:${name}:${record.line}`,
          key: `file:${sha.slice(0, 16)}:${record.line}`,
          timezone: "UTC",
          receivedAt: Date.now(),
          bindings: { file: name, line: record.line },
        };
        if ("error" in record)
          items.push(
            rowRejection(row, "schema", `line ${record.line}: ${record.error}`, record.raw),
          );
        else items.push(...locate(await mapper(record.row, row), `line ${record.line}`));
      }
    } catch (err) {
      if (!(err instanceof FileFormatError)) throw err;
      items.push(rowRejection(fileCtx, "schema", `file ${name}: ${err.message}`, sha));
    }
    return items;
  }

  const kept: string[] = [];
  return {
    name: "legacy-file",
    async feed({ kind, content }) {
      const items = await itemsOf(kind, Buffer.from(content));
      await fz.ingestor.ingest(items, { source: "file", origin: `file:fuzz-${files}.${kind}` });
      const odd = fz.takeOutcomes().find((o) => !isKnownOutcome(o));
      if (odd) throw new Error(`outcome outside the contract: ${odd.status} ${odd.code}`);
    },
    async feedValid(n, _type: EventType) {
      const kind = (["csv", "fixed", "xml"] as const)[n % 3]!;
      const id = validId("legacy", n);
      kept.push(id);
      const items = await itemsOf(kind, Buffer.from(validFile(kind, id)));
      await fz.ingestor.ingest(items, { source: "file", origin: `file:valid-${n}` });
      const outcomes = fz.takeOutcomes().map((o) => `${o.eventId} ${o.status} ${o.message ?? ""}`);
      if (outcomes.join() !== `${id} accepted `)
        throw new Error(`valid ${kind}: ${outcomes.join()}`);
    },
    check: () => missingOrDoubled(fz.store, site, kept),
    save: (i): Saved => ({ kind: i.kind, content: saveBytes(i.content) }),
    load: (s) => {
      const o = s as { kind: LegacyKind; content: Saved };
      return { kind: o.kind, content: loadBytes(o.content) };
    },
    close: () => fz.close(),
  };
}
