/**
 * Signed webhooks over loopback HTTP: hostile bodies, signed well or badly, with hostile
 * timestamp and signature headers. Every answer must be one of the route's statuses (never a
 * 5xx) with results in the contract, and every valid signed event must be kept once.
 */
import {
  SIGNATURE_HEADER,
  sign,
  TIMESTAMP_HEADER,
} from "../../../sidecar/src/ingress/webhook/signature.js";
import { validEvent, validId, withSite } from "../arbitraries.js";
import {
  isKnownOutcome,
  isRejectionCode,
  missingOrDoubled,
  type FuzzTarget,
  type Saved,
} from "../harness.js";
import { loadBytes, saveBytes } from "./bytes.js";
import { checkResults, openHttpRig, SECRET } from "./http.js";

/** How a request is signed. */
export type Signing = "valid" | "replayed" | "stale" | "future" | "wrong" | "none" | "odd";

export interface WebhookInput {
  body: string | Uint8Array;
  signing: Signing;
  /** Header values for `odd` signing (timestamp, signature), and a content type. */
  timestamp: string;
  signature: string;
  contentType: string;
}

const STATUSES = new Set([202, 400, 401, 409, 413]);

export async function webhookTarget(): Promise<FuzzTarget<WebhookInput>> {
  const rig = await openHttpRig();
  const { fz, site } = rig;
  const url = `${rig.http.url}/webhooks/${site}`;
  const now = () => Math.floor(Date.now() / 1000);

  async function post(body: Buffer, headers: Record<string, string>) {
    const res = await fetch(url, {
      method: "POST",
      headers,
      body: new Uint8Array(body),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    let parsed: { results?: unknown };
    try {
      parsed = JSON.parse(text) as { results?: unknown };
    } catch {
      throw new Error(`status ${res.status}, body not JSON: ${text.slice(0, 200)}`);
    }
    if (!STATUSES.has(res.status)) throw new Error(`status ${res.status}: ${text.slice(0, 300)}`);
    checkResults(parsed.results, isRejectionCode, `status ${res.status}`);
    return parsed.results as Array<{ id: string | null; status: string }>;
  }

  function headersOf(input: WebhookInput, body: Buffer): Record<string, string> {
    const h: Record<string, string> = { "content-type": input.contentType };
    const ts =
      input.signing === "stale" ? now() - 3600 : input.signing === "future" ? now() + 3600 : now();
    if (input.signing === "none") return h;
    if (input.signing === "odd")
      return { ...h, [TIMESTAMP_HEADER]: input.timestamp, [SIGNATURE_HEADER]: input.signature };
    const signature =
      input.signing === "wrong" ? sign("not-the-secret", ts, body) : sign(SECRET, ts, body);
    return { ...h, [TIMESTAMP_HEADER]: String(ts), [SIGNATURE_HEADER]: signature };
  }

  const kept: string[] = [];
  return {
    name: "webhook",
    async feed(input) {
      const body = withSite(input.body, site);
      const headers = headersOf(input, body);
      await post(body, headers);
      if (input.signing === "replayed") await post(body, headers);
      const odd = fz.takeOutcomes().find((o) => !isKnownOutcome(o));
      if (odd) throw new Error(`outcome outside the contract: ${odd.status} ${odd.code}`);
    },
    async feedValid(n, type) {
      const id = validId("webhook", n);
      kept.push(id);
      const body = Buffer.from(JSON.stringify(validEvent(type, site, id)));
      const results = await post(
        body,
        headersOf(
          { body, signing: "valid", timestamp: "", signature: "", contentType: "application/json" },
          body,
        ),
      );
      fz.takeOutcomes();
      if (results.map((r) => `${r.id} ${r.status}`).join() !== `${id} accepted`)
        throw new Error(`valid event: ${JSON.stringify(results)}`);
    },
    check: () => missingOrDoubled(fz.store, site, kept),
    save: (i): Saved => ({ ...i, body: saveBytes(i.body) }),
    load: (s) => {
      const o = s as unknown as WebhookInput & { body: Saved };
      return { ...o, body: loadBytes(o.body) };
    },
    close: () => rig.close(),
  };
}
