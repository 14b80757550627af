import { maySite } from "../auth.js";
import { requireScope, siteFilter } from "../access.js";
import type { Resolvers } from "../generated/graphql.js";
import { connectionOf, decodeNumberCursor, pageSize } from "../paging.js";
import type { DeadLetter, MessageRow, Store } from "../../store/types.js";

export interface TraceResolversOptions {
  store: Store;
  defaultSite: string;
}

/** The integration trace of this sidecar: messages, dead letters, an order's events. */
export function createTraceResolvers(options: TraceResolversOptions): Resolvers {
  const { store } = options;

  async function messages(
    principal: Parameters<typeof maySite>[0],
    f: {
      site?: string | null;
      type?: MessageRow["type"] | null;
      state?: MessageRow["state"] | null;
      order?: string | null;
    },
    firstArg: number | null | undefined,
    after: string | null | undefined,
  ) {
    requireScope(principal, "read:messages");
    const site = siteFilter(principal, f.site);
    const first = pageSize(firstArg);
    const rows = await store.listMessages({
      ...(site !== undefined && { site }),
      ...(f.type && { type: f.type }),
      ...(f.state && { state: f.state }),
      ...(f.order && { orderKey: `${site ?? options.defaultSite}/order/${f.order}` }),
      limit: first + 1,
      ...(after && { beforeSeq: decodeNumberCursor(after) }),
    });
    return connectionOf(
      rows.filter((r) => maySite(principal, r.site)),
      first,
      (r) => r.seq,
      messageNode,
    );
  }

  return {
    Query: {
      messages: (_, args, { principal }) =>
        messages(principal, args.filter ?? {}, args.first, args.after),
      deadLetters: async (_, args, { principal }) => {
        requireScope(principal, "read:messages");
        const f = args.filter ?? {};
        const site = siteFilter(principal, f.site);
        const first = pageSize(args.first);
        const rows = await store.listDeadLetters({
          ...(site !== undefined && { site }),
          ...(f.code && { code: f.code }),
          ...(f.state && { state: f.state }),
          limit: first + 1,
          ...(args.after && { beforeId: decodeNumberCursor(args.after) }),
        });
        return connectionOf(
          rows.filter((r) => maySite(principal, r.site)),
          first,
          (r) => r.id,
          deadLetterNode,
        );
      },
    },
    ProductionOrder: {
      messages: (o, args, { principal }) =>
        messages(principal, { site: o.site, order: o.orderKey }, args.first, args.after),
    },
  };
}

export function messageNode(r: MessageRow) {
  return {
    ...r,
    id: String(r.seq),
    receivedAt: new Date(r.receivedAt),
    settledAt: r.settledAt === null ? null : new Date(r.settledAt),
    odooRef: r.ref,
  };
}

export function deadLetterNode(d: DeadLetter) {
  return {
    ...d,
    id: String(d.id),
    createdAt: new Date(d.createdAt),
    updatedAt: new Date(d.updatedAt),
  };
}
