/**
 * HTTP sink: each release is POSTed as JSON (the release payload with its `type`) with an
 * `Idempotency-Key` header holding the release key, so the receiver can tell a retry from a new
 * release. A 2xx answer is the acknowledgement; 408, 429, 5xx and network failures are transient
 * (retried with backoff); any other status is permanent. Redirects are not followed.
 */
import type { OutboundRow } from "../contracts/odoo-api.js";
import type { OutboundSink } from "../contracts/outbound.js";
import { request } from "undici";
import {
  checkOutboundUrl,
  createOutboundDispatcher,
  type OutboundPolicy,
} from "../connectors/outbound-http.js";
import { ConfigError, PermanentError, TransientError } from "../errors.js";
import { releaseId } from "./release-records.js";

export interface HttpSinkOptions {
  url: string;
  /** Non-secret headers and the authorization from the connector's secrets. */
  headers: Record<string, string>;
  /** @default 30000 */
  timeoutMs?: number;
  /** Which addresses the sink may reach. @default no loopback, never link-local / metadata */
  outbound?: OutboundPolicy;
}

export function createHttpSink(options: HttpSinkOptions): OutboundSink {
  const url = checkOutboundUrl(new URL(options.url), "HTTP sink", options.outbound);
  const dispatcher = createOutboundDispatcher(options.outbound);
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    name: `http:${url.origin}${url.pathname}`,
    async deliver(row: OutboundRow) {
      let res;
      try {
        res = await request(url, {
          dispatcher,
          method: "POST",
          headers: {
            ...options.headers,
            "content-type": "application/json",
            "idempotency-key": releaseId(row),
          },
          body: JSON.stringify({ ...row.payload, type: row.type }),
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        });
      } catch (err) {
        throw new TransientError(
          "sink_unavailable",
          `HTTP sink ${url.origin}: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
      await res.body.dump();
      const status = res.statusCode;
      if (status >= 200 && status < 300) return;
      const what = `HTTP sink ${url.origin}${url.pathname} answered ${status}`;
      if (status === 408 || status === 429 || status >= 500)
        throw new TransientError("sink_unavailable", what);
      if (status === 401 || status === 403) throw new ConfigError("credentials", what);
      throw new PermanentError("sink_refused", what);
    },
  };
}
