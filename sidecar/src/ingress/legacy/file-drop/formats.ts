/**
 * The file formats of legacy drops: CSV (delimiter, quote, header or given columns), fixed width
 * (a column spec) and XML (the elements at a record path). Each yields its rows with their line
 * number; a row that cannot be read is yielded as an error with its raw text (it becomes a dead
 * letter, the rest of the file goes on); a file that cannot be read at all throws
 * `FileFormatError` (it goes to the error folder with a reason).
 */
import { parse as parseCsv } from "csv-parse";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import iconv from "iconv-lite";
import type {
  FileFormat,
  FixedWidthFormat,
  CsvFormat,
  XmlFormat,
} from "../../../contracts/connector-params.js";
import type { LegacyRow } from "../rows.js";

export type FileRecord =
  { line: number; row: LegacyRow; raw: string } | { line: number; error: string; raw: string };

export class FileFormatError extends Error {
  constructor(
    readonly code: "encoding" | "format" | "too_large",
    message: string,
  ) {
    super(message);
    this.name = "FileFormatError";
  }
}

/** Largest single record (CSV) or line (fixed width); beyond it the row is a dead letter. */
export const MAX_RECORD_CHARS = 1024 * 1024;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes a file. UTF-8 is checked strictly (a Latin-1 file read as UTF-8 would otherwise post
 * mangled product codes); a BOM is dropped. For XML without a configured encoding, the one the
 * XML declaration names is used.
 */
export function decodeFile(
  bytes: Buffer,
  encoding: string | undefined,
  format: FileFormat,
): string {
  let enc = encoding;
  if (!enc && format.format === "xml") {
    const head = bytes.subarray(0, 200).toString("latin1");
    enc = /^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']/.exec(head)?.[1];
  }
  enc = (enc ?? "utf-8").toLowerCase();
  if (enc === "utf-8" || enc === "utf8") {
    try {
      return stripBom(utf8.decode(bytes));
    } catch {
      throw new FileFormatError(
        "encoding",
        `not valid UTF-8 (line ${firstInvalidUtf8Line(bytes)}); set the connector's "encoding" (e.g. "latin1")`,
      );
    }
  }
  if (!iconv.encodingExists(enc)) throw new FileFormatError("encoding", `unknown encoding ${enc}`);
  return stripBom(iconv.decode(bytes, enc));
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The line of the first byte that is not UTF-8 (for the reason file). */
function firstInvalidUtf8Line(bytes: Buffer): number {
  const text = new TextDecoder("utf-8").decode(bytes);
  const at = text.indexOf("\uFFFD");
  let line = 1;
  for (let i = 0; i < at; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

export function readRecords(text: string, format: FileFormat): AsyncIterable<FileRecord> {
  switch (format.format) {
    case "csv":
      return readCsv(text, format);
    case "fixed":
      return readFixedWidth(text, format);
    case "xml":
      return readXml(text, format);
  }
}

async function* readCsv(text: string, format: CsvFormat): AsyncGenerator<FileRecord> {
  const skipped: FileRecord[] = [];
  const parser = parseCsv({
    delimiter: format.delimiter,
    quote: format.quote,
    from_line: format.skipLines + 1,
    info: true,
    raw: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    trim: format.trim,
    on_skip: (err, raw) => {
      skipped.push({
        line: Number((err as { lines?: number } | undefined)?.lines ?? 0),
        error: `not a CSV record (${err?.code ?? "error"}: ${err?.message ?? ""})`,
        raw: (raw ?? "").slice(0, 4096),
      });
      return undefined;
    },
  });
  // Written in slices so that a large file does not block the event loop in one go.
  let feedError: unknown;
  const feed = (async () => {
    for (let i = 0; i < text.length; i += 1 << 20) {
      if (!parser.write(text.slice(i, i + (1 << 20))))
        await new Promise((r) => parser.once("drain", r));
    }
    parser.end();
  })().catch((err: unknown) => (feedError = err));
  let columns = format.columns;
  for await (const entry of parser as AsyncIterable<{
    record: string[];
    raw: string;
    info: { lines: number };
  }>) {
    while (skipped.length) yield skipped.shift()!;
    const { record, info } = entry;
    const raw = entry.raw.replace(/[\r\n]+$/, "");
    if (!columns) {
      if (!format.header) columns = record.map((_, i) => `col${i + 1}`);
      else {
        columns = record.map((c) => c.trim());
        const dup = columns.find((c, i) => columns!.indexOf(c) !== i);
        if (dup !== undefined || columns.some((c) => c === ""))
          throw new FileFormatError(
            "format",
            `header line ${info.lines}: empty or repeated column name`,
          );
        continue;
      }
    }
    if (raw.length > MAX_RECORD_CHARS) {
      yield {
        line: info.lines,
        error: `record longer than ${MAX_RECORD_CHARS} characters`,
        raw: raw.slice(0, 4096),
      };
      continue;
    }
    if (record.length !== columns.length) {
      yield {
        line: info.lines,
        error: `expected ${columns.length} columns, got ${record.length}`,
        raw,
      };
      continue;
    }
    const row: LegacyRow = {};
    columns.forEach((c, i) => (row[c] = record[i]));
    yield { line: info.lines, row, raw };
  }
  await feed;
  if (feedError) throw new FileFormatError("format", `CSV: ${(feedError as Error).message}`);
  while (skipped.length) yield skipped.shift()!;
}

async function* readFixedWidth(text: string, format: FixedWidthFormat): AsyncGenerator<FileRecord> {
  const needed = Math.max(...format.columns.map((c) => c.start - 1 + c.length));
  const minimum = Math.max(...format.columns.map((c) => c.start));
  let line = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const raw = text.slice(start, end).replace(/\r$/, "");
    start = end + 1;
    line++;
    if (line % 5000 === 0) await new Promise((r) => setImmediate(r));
    if (line <= format.skipLines || raw.trim() === "") {
      if (end === text.length) break;
      continue;
    }
    if (raw.length > MAX_RECORD_CHARS) {
      yield {
        line,
        error: `line longer than ${MAX_RECORD_CHARS} characters`,
        raw: raw.slice(0, 4096),
      };
    } else if (raw.length < minimum) {
      yield { line, error: `line of ${raw.length} characters, the columns need ${needed}`, raw };
    } else {
      const row: LegacyRow = {};
      for (const c of format.columns) {
        const cell = raw.slice(c.start - 1, c.start - 1 + c.length);
        row[c.name] = format.trim ? cell.trim() : cell;
      }
      yield { line, row, raw };
    }
    if (end === text.length) break;
  }
}

async function* readXml(text: string, format: XmlFormat): AsyncGenerator<FileRecord> {
  // Entity declarations are how XML bombs and external entities get in: legacy exports do not
  // need them.
  if (/<!ENTITY/i.test(text))
    throw new FileFormatError("format", "XML with <!ENTITY declarations is not accepted");
  const valid = XMLValidator.validate(text);
  if (valid !== true)
    throw new FileFormatError(
      "format",
      `not well-formed XML at line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}`,
    );
  const path = format.recordPath.split(".");
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "",
    parseTagValue: false,
    parseAttributeValue: false,
    processEntities: true,
    htmlEntities: false,
    ignoreDeclaration: true,
    ignorePiTags: true,
    isArray: (_name, jpath) => jpath === format.recordPath,
  });
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch (err) {
    // fast-xml-parser refuses names that would pollute prototypes (`__proto__`, `constructor`)
    // and nesting deeper than 100 elements: the file's fault, so the file goes to the error
    // folder with the reason, instead of failing the pull on it at every run.
    throw new FileFormatError("format", `XML not accepted: ${(err as Error).message}`);
  }
  let node: unknown = doc;
  for (const step of path) node = (node as Record<string, unknown> | undefined)?.[step];
  if (node === undefined) return;
  const records = Array.isArray(node) ? node : [node];
  const lines = recordLines(text, path[path.length - 1]!, records.length);
  for (const [i, record] of records.entries()) {
    const line = lines?.[i] ?? i + 1;
    const raw = JSON.stringify(record) ?? "";
    if (record === null || typeof record !== "object" || Array.isArray(record)) {
      yield { line, error: "the record element has no fields", raw };
    } else yield { line, row: record as LegacyRow, raw };
    if (i % 5000 === 4999) await new Promise((r) => setImmediate(r));
  }
}

/**
 * Line numbers of the record elements, when the element name only occurs as a record (the usual
 * export); otherwise undefined and records are numbered 1, 2, ... instead.
 */
function recordLines(text: string, tag: string, count: number): number[] | undefined {
  const escaped = tag.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`<${escaped}(?=[\\s/>])`, "g");
  const lines: number[] = [];
  let line = 1;
  let from = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    for (let i = from; i < m.index; i++) if (text.charCodeAt(i) === 10) line++;
    from = m.index;
    lines.push(line);
  }
  return lines.length === count ? lines : undefined;
}
