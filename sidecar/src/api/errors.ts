import { GraphQLError } from "graphql";
import { PlantBridgeError } from "../errors.js";

/**
 * The error taxonomy in `extensions.code` (STYLE.md "Errors"): transient → UNAVAILABLE,
 * permanent → BAD_USER_INPUT (or NOT_FOUND), config → FORBIDDEN / CONFIG_ERROR. Anything else is
 * left to yoga's masking ("Unexpected error.", `extensions.unexpected: true`).
 */
export function forbidden(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "FORBIDDEN" } });
}

export function badInput(message: string, errorCode?: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: "BAD_USER_INPUT", ...(errorCode && { errorCode }) },
  });
}

export function notFound(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "NOT_FOUND" } });
}

/** Maps a typed sidecar error onto a client-facing GraphQL error; others are rethrown as is. */
export function toGraphqlError(err: unknown): unknown {
  if (err instanceof GraphQLError || !(err instanceof PlantBridgeError)) return err;
  switch (err.kind) {
    case "transient":
      return new GraphQLError("Odoo is unavailable, try again later", {
        extensions: { code: "UNAVAILABLE", errorCode: err.code, retryable: true },
      });
    case "permanent":
      return err.code === "odoo_not_found" || err.code === "not_found"
        ? notFound(err.message)
        : badInput(clientMessage(err), err.code);
    case "config":
      // Odoo refused the connector (credentials, rights): an operator's problem, not the client's.
      return new GraphQLError("the sidecar's Odoo access is misconfigured", {
        extensions: { code: "CONFIG_ERROR", errorCode: err.code },
      });
    default:
      return err;
  }
}

/** Odoo's 422 message without the `model.method:` prefix the client adds. */
function clientMessage(err: PlantBridgeError): string {
  return err.message.replace(/^plant_bridge\.api\.\w+: /, "");
}

/** Runs `fn`, turning typed errors into GraphQL errors. */
export async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toGraphqlError(err);
  }
}
