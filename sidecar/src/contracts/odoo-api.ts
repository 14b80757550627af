/**
 * Shapes of Odoo's API as the sidecar calls it (docs/odoo-api.md). Types only: the client itself
 * is an adapter (odoo/client.ts).
 */

/** Odoo's external API, one call at a time. */
export interface OdooClient {
  readonly protocol: () => "json2" | "jsonrpc" | undefined;
  /** Odoo's `server_version_info` (asks `/web/version` once). */
  version(): Promise<number[]>;
  /** Whether Odoo answers its health check (`GET /web/health`, no database, no login). */
  healthy(timeoutMs?: number): Promise<boolean>;
  /** Calls a public model method with keyword arguments (an `@api.model` method: no ids). */
  call<T>(model: string, method: string, kwargs?: Record<string, unknown>): Promise<T>;
  /** Uses another API key from the next request on (key rotation); false when it is the same. */
  setApiKey?(apiKey: string): boolean;
  close(): Promise<void>;
}

/** The body Odoo returns with a JSON-2 error (odoo.http.serialize_exception), kept in the trace. */
export interface OdooErrorBody {
  name?: string;
  message?: string;
  arguments?: unknown[];
}

/** A pending outbound row (`fetch_outbound`). */
export interface OutboundRow {
  id: number;
  type: "order_release" | "order_change" | "order_cancel" | "order_done";
  order: string;
  created: string;
  payload: Record<string, unknown>;
}
