import type { MessageParser } from "../../contracts/checkers.js";
import type { HttpRoute } from "../../contracts/http.js";
import type http from "node:http";
import {
  DEFAULT_LIMITS,
  rejectPayload,
  type MessageContext,
  type ParsedItem,
  type ParseLimits,
  type Rejection,
} from "../../canonical/parse.js";
import type { Logger } from "../../logger.js";
import { describeError } from "../../errors.js";
import type { Ingestor } from "../../pipeline/ingestor.js";
import type { Quarantine } from "../../pipeline/quarantine.js";
import type { IngestResult } from "../../store/types.js";
import { safeEqual } from "../../safe-equal.js";
import { createReplayGuard, readClaim, signatureHmac, SOURCE_HEADER } from "./signature.js";

export interface WebhookRoutesOptions {
  /**
   * The shared secret (PLANT_BRIDGE_WEBHOOK_SECRET): the default of every site without a secret
   * of its own. A site without any secret has no route (its path answers 404).
   */
  secret?: string;
  /**
   * Secrets of their own (PLANT_BRIDGE_WEBHOOK_SECRETS), keyed `<site>` or `<site>/<source>`:
   * a site's replaces the default for that site; a source's is the one a request naming that
   * source in `X-Plant-Bridge-Source` must be signed with. @default {}
   */
  secrets?: Record<string, string>;
  /** One route `POST /webhooks/<site>` per site. */
  sites: string[];
  parse: MessageParser;
  ingestor: Ingestor;
  logger: Logger;
  /** The parser's limits: its largest message is the largest body. @default DEFAULT_LIMITS */
  limits?: ParseLimits;
  /** Accepted distance between the signed timestamp and the clock. @default 300 */
  toleranceSeconds?: number;
  /**
   * Requests failing authentication per minute that get a dead letter of their own; the rest
   * of the minute count as repeats of one more. @default 10
   */
  unverifiedPerMinute?: number;
  /** Bytes of a request failing authentication kept in its dead letter. @default 4096 */
  unverifiedKeptBytes?: number;
  /**
   * Where a request whose handling fails goes (an `internal` dead letter, answered 422); without
   * it, and when the store takes nothing, the request is answered 503 and the sender retries.
   * @default none
   */
  quarantine?: Quarantine;
  /** @default Date.now */
  now?: () => number;
}

/** What a webhook answers per input: the shape of GraphQL's `SubmitResult`. */
export interface WebhookResult {
  id: string | null;
  status: "accepted" | "duplicate" | "rejected";
  code: string | null;
  message: string | null;
}

export const WEBHOOK_PREFIX = "/webhooks/";

/**
 * Signed HTTP webhooks (README "Signed webhooks"): `POST /webhooks/<site>` with one canonical
 * event or an array, the same parsing and pipeline as the canonical MQTT topic, answered only
 * once what it did is durable. Every refused request is a dead letter of its own code
 * (`signature`, `replayed`, `too_large`, `invalid_json`...); those failing authentication keep a
 * truncated body, and beyond `unverifiedPerMinute` a minute count as repeats of a single dead
 * letter: an unauthenticated flood is visible but cannot fill the store.
 */
export function createWebhookRoutes(options: WebhookRoutesOptions): HttpRoute[] {
  const { ingestor, logger } = options;
  const secrets = options.secrets ?? {};
  /** The secret a request to `site` from `source` (the header, if any) must be signed with. */
  const secretOf = (site: string, source: string | undefined): string | undefined =>
    source === undefined
      ? (secrets[site] ?? options.secret)
      : (secrets[`${site}/${source}`] ?? secrets[site] ?? options.secret);
  const served = options.sites.filter(
    (site) =>
      secretOf(site, undefined) !== undefined ||
      Object.keys(secrets).some((key) => key.startsWith(`${site}/`)),
  );
  if (served.length === 0) return [];
  const limits = options.limits ?? DEFAULT_LIMITS;
  const maxBody = limits.maxMessageBytes;
  const now = options.now ?? Date.now;
  const guard = createReplayGuard({ toleranceSeconds: options.toleranceSeconds ?? 300, now });
  const perMinute = options.unverifiedPerMinute ?? 10;
  const budget = createBudget(perMinute, now);
  const unverifiedKept = options.unverifiedKeptBytes ?? 4096;

  async function handle(site: string, req: http.IncomingMessage, res: http.ServerResponse) {
    if (req.method !== "POST") {
      res.setHeader("allow", "POST");
      return json(res, 405, { error: "method not allowed: POST a signed event or array" });
    }
    const ctx: MessageContext = { site, source: "webhook", origin: `${WEBHOOK_PREFIX}${site}` };
    // A declared length over the limit is refused before a byte is read or hashed: no work for
    // whoever can reach the port. (A chunked body is counted as it streams, below.)
    const declared = Number(req.headers["content-length"]);
    if (Number.isSafeInteger(declared) && declared > maxBody) {
      res.setHeader("connection", "close");
      res.once("finish", () => req.destroy());
      const message = `declared body of ${declared} bytes exceeds the limit of ${maxBody} (not read)`;
      // unauthenticated: the same bounded dead letters as a bad signature
      const window = budget.take();
      const identity = Buffer.from(
        window === undefined ? `declared ${declared} at ${now()}` : `over budget since ${window}`,
      );
      const r = rejectPayload(ctx, "too_large", message, Buffer.alloc(0), declared, identity);
      return refuse(res, 413, r, message);
    }
    const claim = readClaim(req.headers);
    const source = req.headers[SOURCE_HEADER];
    const secret = secretOf(site, typeof source === "string" ? source : undefined);
    // The HMAC follows the body as it streams in: a too large body is authenticated too, while
    // no more than `maxBody` bytes of it are ever held.
    const hmac =
      "digest" in claim && secret !== undefined
        ? signatureHmac(secret, claim.timestamp)
        : undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      if (size < maxBody) chunks.push(chunk.subarray(0, maxBody - size));
      size += chunk.length;
      hmac?.update(chunk);
    }
    const body = Buffer.concat(chunks);

    if (!hmac || !("digest" in claim) || !safeEqual(hmac.digest(), claim.digest)) {
      const problem = "problem" in claim ? claim.problem : "signature does not match";
      const from = req.socket.remoteAddress ?? "unknown";
      const kept = body.subarray(0, unverifiedKept);
      const window = budget.take();
      if (window === undefined) {
        const r = rejectPayload(ctx, "signature", `${problem} (from ${from})`, kept, size);
        return refuse(res, 401, r, problem);
      }
      // Beyond the budget: one dead letter per site and minute, its repeats counting the rest.
      if (budget.over() === 1)
        logger.warn({ site, from }, "webhook: unauthenticated requests beyond the budget");
      const message = `unauthenticated requests beyond ${perMinute} a minute (this one from ${from}; repeats count the others)`;
      const identity = Buffer.from(`over budget since ${window}`);
      const r = rejectPayload(ctx, "signature", message, kept, size, identity);
      return refuse(res, 401, r, problem);
    }
    if (size > maxBody) {
      const kept = body.subarray(0, limits.keptPayloadBytes);
      const message = `body of ${size} bytes exceeds the limit of ${maxBody}`;
      return refuse(res, 413, rejectPayload(ctx, "too_large", message, kept, size), message);
    }
    const stale = guard.stale(claim.timestamp);
    if (stale) return refuse(res, 409, rejectPayload(ctx, "replayed", stale, body), stale);
    if (!guard.claim(claim.digest, claim.timestamp)) {
      const message = "this signature was already received within the tolerance window";
      return refuse(res, 409, rejectPayload(ctx, "replayed", message, body), message);
    }
    let outcome: { items: ParsedItem[]; results: IngestResult[] } | undefined;
    const attempt = async () => {
      const items = options.parse(body, ctx);
      outcome = { items, results: await ingestor.ingest(items, ctx) };
    };
    try {
      await attempt().catch((err: unknown) => {
        if (!options.quarantine) throw err;
        return options.quarantine(ctx, body, err, attempt);
      });
    } catch (err) {
      guard.release(claim.digest); // not committed: the sender's retry must not be a replay
      logger.error({ err, site }, "webhook: the store did not commit; answered 503");
      res.setHeader("retry-after", "5");
      return answer(res, 503, [rejected(null, "store_unavailable", describeError(err))]);
    }
    if (!outcome) {
      const message = "this request failed while it was handled; it is kept as a dead letter";
      return answer(res, 422, [rejected(null, "internal", message)]);
    }
    const { items, results } = outcome;
    // A body that is no input at all (not JSON, too many events) is the request's error; an
    // invalid event among others is that event's, and the request itself went through.
    const only = items.length === 1 && items[0]!.kind === "reject" ? items[0]!.rejection : null;
    const status = only?.code === "invalid_json" ? 400 : only?.code === "too_large" ? 413 : 202;
    return answer(
      res,
      status,
      items.map((item, i) => resultOf(item, results[i]!)),
    );
  }

  /** Keeps the refused request as a dead letter, then answers. */
  async function refuse(res: http.ServerResponse, status: number, r: Rejection, message: string) {
    await ingestor.ingest([{ kind: "reject", rejection: r }], {
      source: r.source,
      origin: r.origin,
    });
    return answer(res, status, [rejected(null, r.code, message)]);
  }

  return served.map((site) => ({
    path: `${WEBHOOK_PREFIX}${site}`,
    auth: false, // the signature is the authentication
    handle: (req, res) => handle(site, req, res),
  }));
}

function resultOf(item: ParsedItem, result: IngestResult): WebhookResult {
  if (item.kind === "reject")
    return rejected(item.rejection.eventId ?? null, item.rejection.code, item.rejection.message);
  const duplicate = result.status === "duplicate";
  return {
    id: item.event.id,
    status: duplicate ? "duplicate" : "accepted",
    code: duplicate ? "duplicate" : null,
    message: null,
  };
}

function rejected(id: string | null, code: string, message: string): WebhookResult {
  return { id, status: "rejected", code, message };
}

function answer(res: http.ServerResponse, status: number, results: WebhookResult[]): void {
  json(res, status, { results });
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

/**
 * A fixed one-minute window of distinct dead letters for unauthenticated requests: `take` gives
 * undefined within the budget, else the start of the window it is exhausted in.
 */
function createBudget(perMinute: number, now: () => number) {
  let windowStart = -Infinity;
  let used = 0;
  return {
    take(): number | undefined {
      const at = now();
      if (at - windowStart >= 60_000) {
        windowStart = at;
        used = 0;
      }
      return used++ < perMinute ? undefined : windowStart;
    },
    /** Requests beyond the budget in the current window. */
    over: () => Math.max(0, used - perMinute),
  };
}
