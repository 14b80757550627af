/**
 * HTTP source: polls a JSON endpoint of a legacy system. Each run asks for what changed since the
 * last committed position (`since` parameter, taken from the items' `since.field`), sends the
 * last complete answer's ETag (`If-None-Match`: a 304 means nothing new), and follows pages
 * (page numbers, a cursor, or a next link on the same origin). Each page is mapped and committed
 * with the new position in one store transaction (`legacy.http.<site>.c<connector>`); the ETag
 * is committed with the last page only. Items keep their keys (`<name>:<key field>`), so a page
 * read again after a crash makes duplicates, never doubles. Redirects are not followed.
 */
import type { HttpPaging } from "../../../contracts/connector-params.js";
import { createHash } from "node:crypto";
import secureJson from "secure-json-parse";
import { request } from "undici";
import {
  checkOutboundUrl,
  createOutboundDispatcher,
  type OutboundPolicy,
} from "../../../connectors/outbound-http.js";
import { ConfigError, TransientError } from "../../../errors.js";
import type { Store } from "../../../store/types.js";
import { boundedKey, locate, rowRejection, type LegacyRow, type RowContext } from "../rows.js";
import {
  commitChunk,
  emptyStats,
  mapRows,
  type LegacySource,
  type PullContext,
  type PullStats,
} from "../pull.js";

export interface HttpSourceOptions {
  connectorId: number;
  /** Names the items in keys and origins. */
  name: string;
  url: string;
  /** Non-secret and secret headers together (authorization comes from the connector's secrets). */
  headers: Record<string, string>;
  /** Dotted path of the items array in the body; "" when the body is the array. @default "items" */
  itemsPath: string;
  /** @default "id" */
  keyField: string;
  since?: { param: string; field: string };
  paging: HttpPaging;
  /** @default true */
  etag: boolean;
  /** @default 100 */
  maxPages?: number;
  /** @default 30000 */
  timeoutMs?: number;
  /** Largest body read. @default 16777216 (16 MiB) */
  maxBytes?: number;
  store: Pick<Store, "getState">;
  /** Which addresses the source may reach. @default no loopback, never link-local / metadata */
  outbound?: OutboundPolicy;
}

interface Position {
  since?: string | number;
  /** The ETag of the last complete answer, and the first URL it answered. */
  etag?: string;
  etagFor?: string;
}

export function createHttpSource(options: HttpSourceOptions): LegacySource {
  const base = checkOutboundUrl(new URL(options.url), "the HTTP source URL", options.outbound);
  const dispatcher = createOutboundDispatcher(options.outbound);
  const maxPages = options.maxPages ?? 100;
  const technical = [options.keyField, ...(options.since ? [options.since.field] : [])];
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;

  async function run(ctx: PullContext): Promise<PullStats> {
    const stats = emptyStats();
    const stateKey = `legacy.http.${ctx.site}.c${options.connectorId}`;
    let stored = (await options.store.getState(stateKey)) ?? null;
    const start: Position = stored ? (JSON.parse(stored) as Position) : {};
    let since = start.since;
    let url: URL | undefined = firstUrl(start);
    let page = 0;
    let etag: string | undefined;
    const first = url.href;
    while (url && page < maxPages && !ctx.signal?.aborted) {
      const known =
        page === 0 && options.etag && start.etagFor === url.href ? start.etag : undefined;
      const answer = await fetchJson(url, known);
      if (answer.notModified) {
        stats.notes.push("not modified (ETag)");
        break;
      }
      if (page === 0) etag = answer.etag;
      const items = itemsOf(answer.body);
      const next = nextUrl(url, answer.body, items.length, page);
      page++;
      await ctx.afterRead?.(`http ${options.name}: page ${page}, ${items.length} items`);
      const receivedAt = (ctx.now ?? Date.now)();
      const mapped = await mapRows(items, (item) => mapItem(ctx, item, receivedAt));
      for (const item of items) since = later(since, sinceOf(item));
      const position: Position = { ...(since !== undefined && { since }) };
      if (!next && etag && options.etag) Object.assign(position, { etag, etagFor: first });
      const value = JSON.stringify(position);
      await commitChunk(
        ctx,
        mapped,
        { source: "http", origin: `http:${options.name}` },
        [{ key: stateKey, value, expect: stored }],
        stats,
      );
      stored = value;
      stats.rows += items.length;
      url = next;
    }
    stats.notes.push(`${page} page(s)`);
    return stats;
  }

  function firstUrl(start: Position): URL {
    const url = new URL(base);
    if (options.since && start.since !== undefined)
      url.searchParams.set(options.since.param, String(start.since));
    if (options.paging.kind === "page") {
      url.searchParams.set(options.paging.param, String(options.paging.start));
      if (options.paging.sizeParam && options.paging.size)
        url.searchParams.set(options.paging.sizeParam, String(options.paging.size));
    }
    return url;
  }

  function nextUrl(current: URL, body: unknown, count: number, page: number): URL | undefined {
    const paging = options.paging;
    switch (paging.kind) {
      case "none":
        return undefined;
      case "page": {
        if (count === 0 || (paging.size && count < paging.size)) return undefined;
        const url = new URL(current);
        url.searchParams.set(paging.param, String(paging.start + page + 1));
        return url;
      }
      case "cursor": {
        const cursor = at(body, paging.nextPath);
        if (cursor === undefined || cursor === null || cursor === "") return undefined;
        const url = new URL(current);
        url.searchParams.set(paging.param, String(cursor));
        return url;
      }
      case "link": {
        const link = at(body, paging.nextPath);
        if (typeof link !== "string" || link === "") return undefined;
        const url = new URL(link, current);
        // A next link elsewhere would send our credentials to another host.
        if (url.origin !== base.origin)
          throw new ConfigError("config", `next link to another origin refused: ${url.origin}`);
        return url;
      }
    }
  }

  function itemsOf(body: unknown): unknown[] {
    const items = options.itemsPath === "" ? body : at(body, options.itemsPath);
    if (items === undefined || items === null) return [];
    if (!Array.isArray(items))
      throw new TransientError(
        "legacy_bad_response",
        `the answer has no array at ${options.itemsPath || "its root"}`,
      );
    return items;
  }

  function sinceOf(item: unknown): string | number | undefined {
    if (!options.since || item === null || typeof item !== "object") return undefined;
    const v = (item as Record<string, unknown>)[options.since.field];
    return typeof v === "string" || typeof v === "number" ? v : undefined;
  }

  async function mapItem(ctx: PullContext, item: unknown, receivedAt: number) {
    const raw = JSON.stringify(item) ?? "null";
    const keyValue =
      item !== null && typeof item === "object"
        ? (item as Record<string, unknown>)[options.keyField]
        : undefined;
    const key =
      typeof keyValue === "string" || typeof keyValue === "number"
        ? String(keyValue)
        : `sha256-${createHash("sha256").update(raw).digest("hex").slice(0, 32)}`;
    const row: RowContext = {
      site: ctx.site,
      source: "http",
      origin: `http:${options.name}:${key}`,
      key: boundedKey(`${options.name}:${key}`),
      timezone: ctx.timezone,
      receivedAt,
      technical,
      bindings: { source: options.name },
    };
    if (item === null || typeof item !== "object" || Array.isArray(item))
      return [rowRejection(row, "schema", `item ${key}: not an object`, raw)];
    return locate(await ctx.mapper(item as LegacyRow, row), `item ${key}`);
  }

  async function fetchJson(url: URL, ifNoneMatch: string | undefined) {
    let res;
    try {
      res = await request(url, {
        dispatcher,
        method: "GET",
        headers: {
          accept: "application/json",
          ...options.headers,
          ...(ifNoneMatch && { "if-none-match": ifNoneMatch }),
        },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (err) {
      throw new TransientError(
        "legacy_unavailable",
        `HTTP source ${options.name}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    const status = res.statusCode;
    if (status === 304) {
      await res.body.dump();
      return { notModified: true as const };
    }
    if (status < 200 || status >= 300) {
      await res.body.dump();
      const what = `HTTP source ${options.name}: ${status} from ${url.origin}${url.pathname}`;
      if (status === 401 || status === 403) throw new ConfigError("credentials", what);
      if (status === 408 || status === 429 || status >= 500)
        throw new TransientError("legacy_unavailable", what);
      throw new ConfigError("config", what);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        res.body.destroy();
        throw new TransientError(
          "legacy_bad_response",
          `HTTP source ${options.name}: answer larger than ${maxBytes} bytes`,
        );
      }
      chunks.push(chunk as Buffer);
    }
    let body: unknown;
    try {
      body = secureJson.parse(Buffer.concat(chunks).toString("utf8"), undefined, {
        protoAction: "remove",
        constructorAction: "remove",
      });
    } catch (err) {
      throw new TransientError(
        "legacy_bad_response",
        `HTTP source ${options.name}: not JSON (${(err as Error).message})`,
      );
    }
    const etag = res.headers.etag;
    return { notModified: false as const, body, etag: typeof etag === "string" ? etag : undefined };
  }

  return { run, close: async () => undefined };
}

function at(value: unknown, path: string): unknown {
  let node = value;
  for (const step of path.split(".")) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[step];
  }
  return node;
}

function later(a: string | number | undefined, b: string | number | undefined) {
  if (b === undefined) return a;
  if (a === undefined) return b;
  if (typeof a === "number" && typeof b === "number") return b > a ? b : a;
  return String(b) > String(a) ? b : a;
}
