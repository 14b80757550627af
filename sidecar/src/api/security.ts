import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import {
  GraphQLError,
  Lexer,
  NoSchemaIntrospectionCustomRule,
  Source,
  TokenKind,
  type ValidationContext,
} from "graphql";
import type { Plugin } from "graphql-yoga";

export interface QueryLimits {
  /** Deepest selection. @default 10 */
  maxDepth?: number;
  /** Most aliases in one operation. @default 15 */
  maxAliases?: number;
  /** Most tokens in one document (parsed before anything else). @default 2000 */
  maxTokens?: number;
  /** Most directives in one operation. @default 20 */
  maxDirectives?: number;
  /**
   * graphql-armor's cost: objects 2, scalars 1, ×1.5 per level, × a literal `first` (page sizes
   * given as variables are bounded by each field's own maximum instead). @default 20000
   */
  maxCost?: number;
}

/**
 * Depth, alias, token, directive and cost limits (GraphQL Armor), and no field suggestions when
 * introspection is off. A rejected document answers 400 with `GRAPHQL_VALIDATION_FAILED`.
 */
export function useQueryLimits(limits: QueryLimits = {}, introspection = false): Plugin {
  // Rejections become ordinary validation errors (reported, not thrown), so they answer 400 like
  // any invalid document, over HTTP and WebSocket alike; the token limit acts while parsing.
  const rejected = {
    propagateOnRejection: false,
    onReject: [
      (ctx: ValidationContext | null, error: GraphQLError) => {
        if (ctx) return ctx.reportError(error);
        throw new GraphQLError(error.message, {
          extensions: { code: "GRAPHQL_PARSE_FAILED", http: { status: 400, spec: false } },
        });
      },
    ],
  };
  return EnvelopArmorPlugin({
    maxDepth: { n: limits.maxDepth ?? 10, ignoreIntrospection: true, ...rejected },
    maxAliases: { n: limits.maxAliases ?? 15, ...rejected },
    maxTokens: { n: limits.maxTokens ?? 2000, ...rejected },
    maxDirectives: { n: limits.maxDirectives ?? 20, ...rejected },
    costLimit: { maxCost: limits.maxCost ?? 20_000, ignoreIntrospection: true, ...rejected },
    blockFieldSuggestion: { enabled: !introspection },
  }) as Plugin;
}

/**
 * The token limit before yoga parses an HTTP request, so an oversized document answers 400
 * (armor's own token limit, which also guards WebSocket operations, surfaces as a parse error).
 */
export function useTokenLimit(maxTokens = 2000): Plugin {
  return {
    onParams({ params, setResult }) {
      if (typeof params.query !== "string") return;
      const lexer = new Lexer(new Source(params.query));
      let count = 0;
      try {
        while (lexer.advance().kind !== TokenKind.EOF) {
          if (++count > maxTokens) {
            setResult({
              errors: [
                new GraphQLError(`Syntax Error: Token limit of ${maxTokens} exceeded.`, {
                  extensions: { code: "GRAPHQL_PARSE_FAILED", http: { status: 400 } },
                }),
              ],
            });
            return;
          }
        }
      } catch {
        // a syntax error: yoga's parser reports it
      }
    },
  };
}

/** Refuses `__schema` / `__type` when introspection is off (GraphiQL off, e.g. in production). */
export function useNoIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
}

/**
 * Every validation error answers HTTP 400 (whatever the Accept header), so clients and proxies
 * see an abusive or invalid document as the client's fault, never as a 5xx or a 200.
 */
export function useValidationStatus(): Plugin {
  return {
    onValidate() {
      return ({ result, setResult }) => {
        if (result.length === 0) return;
        setResult(
          result.map(
            (e) =>
              new GraphQLError(e.message, {
                nodes: e.nodes ?? null,
                source: e.source ?? null,
                positions: e.positions ?? null,
                extensions: {
                  code: "GRAPHQL_VALIDATION_FAILED",
                  ...e.extensions,
                  // spec: false: 400 also for `Accept: application/json` clients
                  http: { status: 400, spec: false },
                },
              }),
          ),
        );
      };
    },
  };
}

/** Headers a browser cannot add to a cross-site "simple" request without a CORS preflight. */
export const PREFLIGHT_HEADERS = [
  "x-graphql-yoga-csrf",
  "apollo-require-preflight",
  "graphql-preflight",
];
const SIMPLE_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"];

/**
 * CSRF prevention (the same rule as yoga's useCSRFPrevention): a request a browser could send
 * cross-site without a preflight — GET, or a POST with a "simple" content type — must carry one
 * of the preflight headers. Tokens travel in the Authorization header (never cookies), which a
 * cross-site form cannot set either; this closes the door for any future cookie auth too.
 */
export function useCsrfPrevention(): Plugin {
  return {
    onRequest({ request, endResponse }) {
      const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
      const simple =
        request.method === "GET" ||
        request.method === "HEAD" ||
        SIMPLE_TYPES.includes(type) ||
        !type;
      if (!simple) return;
      if (request.method === "GET" && (request.headers.get("accept") ?? "").includes("text/html"))
        return; // the GraphiQL page itself runs no operation
      if (PREFLIGHT_HEADERS.some((h) => request.headers.has(h))) return;
      endResponse(
        Response.json(
          {
            errors: [
              {
                message: `requests without a JSON body need one of the headers ${PREFLIGHT_HEADERS.join(", ")} (CSRF prevention)`,
                extensions: { code: "CSRF_PREVENTED" },
              },
            ],
          },
          { status: 403 },
        ),
      );
    },
  };
}
