import { badInput } from "./errors.js";

/** Relay paging: opaque cursors over a keyset value (a number or a string). */
export function pageSize(first: number | null | undefined, max = 500): number {
  const n = first ?? 20;
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw badInput(`first must be between 1 and ${max}`);
  return n;
}

export function encodeCursor(key: number | string): string {
  return Buffer.from(typeof key === "number" ? `c:${key}` : `s:${key}`).toString("base64url");
}

export function decodeNumberCursor(cursor: string): number {
  const match = /^c:(\d{1,15})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!match) throw badInput("invalid cursor");
  return Number(match[1]);
}

export function decodeStringCursor(cursor: string): string {
  const match = /^s:(.{1,200})$/s.exec(Buffer.from(cursor, "base64url").toString());
  if (!match) throw badInput("invalid cursor");
  return match[1]!;
}

export interface Connection<N> {
  edges: Array<{ node: N; cursor: string }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** A connection from a page of nodes, each with its cursor key. */
export function connection<N>(
  nodes: N[],
  hasNextPage: boolean,
  key: (n: N) => number | string,
): Connection<N> {
  const edges = nodes.map((node) => ({ node, cursor: encodeCursor(key(node)) }));
  return { edges, pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** A connection from `first + 1` rows fetched (the extra one tells whether there is a next page). */
export function connectionOf<R, N>(
  rows: R[],
  first: number,
  key: (r: R) => number | string,
  node: (r: R) => N,
): Connection<N> {
  const page = rows.slice(0, first);
  const edges = page.map((r) => ({ node: node(r), cursor: encodeCursor(key(r)) }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null },
  };
}
