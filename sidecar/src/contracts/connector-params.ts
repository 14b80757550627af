/**
 * Connector parameters once checked (connectors/params.ts): the file formats of file drops and
 * the paging of HTTP sources. Types only.
 */

export interface CsvFormat {
  format: "csv";
  delimiter: string;
  quote: string;
  /** First record holds the column names (unless `columns` is given). */
  header: boolean;
  columns?: string[];
  /** Lines skipped before the header or the first record (a title, an export banner). */
  skipLines: number;
  trim: boolean;
}

export interface FixedWidthColumn {
  name: string;
  /** 1-based position of the first character. */
  start: number;
  length: number;
}

export interface FixedWidthFormat {
  format: "fixed";
  columns: FixedWidthColumn[];
  skipLines: number;
  trim: boolean;
}

export interface XmlFormat {
  format: "xml";
  /** Dotted path of the repeated record element, e.g. `export.orders.order`. */
  recordPath: string;
}

export type FileFormat = CsvFormat | FixedWidthFormat | XmlFormat;

/** How an HTTP source asks for the next page. */
export type HttpPaging =
  | { kind: "none" }
  | { kind: "page"; param: string; start: number; sizeParam?: string; size?: number }
  | { kind: "cursor"; param: string; nextPath: string }
  | { kind: "link"; nextPath: string };
