/**
 * GraphQL documents over loopback HTTP with a valid bearer token: hostile request bodies
 * (documents, variables, raw bytes). Never a 5xx or a masked unexpected error; every
 * `submitEvents` result is an acceptance or a rejection with a contract code; every valid event
 * submitted is kept once.
 */
import { validEvent, validId, withSite } from "../arbitraries.js";
import { isKnownOutcome, isRejectionCode, missingOrDoubled, type FuzzTarget } from "../harness.js";
import { loadBytes, saveBytes } from "./bytes.js";
import { checkResults, openHttpRig, TOKEN } from "./http.js";

/** `extensions.code` of errors that are the client's (or Odoo being offline), never ours. */
const CLIENT_CODES = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  "FORBIDDEN",
  "NOT_FOUND",
  "CONFIG_ERROR",
  "UNAVAILABLE",
  "CSRF_PREVENTED",
  "PERSISTED_QUERY_NOT_FOUND",
]);

interface Answer {
  data?: Record<string, unknown> | null;
  errors?: Array<{ message?: string; extensions?: { code?: unknown; unexpected?: unknown } }>;
}

export async function graphqlTarget(): Promise<FuzzTarget<string | Uint8Array>> {
  const rig = await openHttpRig();
  const { fz, site } = rig;

  async function post(body: Buffer): Promise<Answer> {
    const res = await fetch(`${rig.http.url}/graphql`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${TOKEN}`,
        "content-type": "application/json",
        // a subscription would otherwise stream (SSE) for as long as the connection lasts
        accept: "application/graphql-response+json, application/json",
      },
      body: new Uint8Array(body),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await res.text();
    if (res.status >= 500) throw new Error(`status ${res.status}: ${text.slice(0, 300)}`);
    let answer: Answer;
    try {
      answer = JSON.parse(text) as Answer;
    } catch {
      // A refusal before GraphQL (e.g. 406 for a subscription asked as JSON) may have no body.
      if (res.status >= 400) return {};
      throw new Error(`status ${res.status}, body not JSON: ${text.slice(0, 200)}`);
    }
    for (const e of answer.errors ?? []) {
      const code = e.extensions?.code;
      // yoga answers a request it cannot run (variables of the wrong type, a null where the
      // document says non-null) with 400 and errors that carry no code: the client's fault too.
      const uncoded400 = code === undefined && res.status === 400;
      if (e.extensions?.unexpected || !(uncoded400 || CLIENT_CODES.has(String(code))))
        throw new Error(`status ${res.status}, error ${String(code)}: ${e.message ?? ""}`);
    }
    const submitted = answer.data?.submitEvents;
    if (submitted !== undefined && submitted !== null)
      checkResults(submitted, isRejectionCode, "submitEvents");
    return answer;
  }

  const kept: string[] = [];
  return {
    name: "graphql",
    async feed(input) {
      await post(withSite(input, site));
      const odd = fz.takeOutcomes().find((o) => !isKnownOutcome(o));
      if (odd) throw new Error(`outcome outside the contract: ${odd.status} ${odd.code}`);
    },
    async feedValid(n, type) {
      const id = validId("graphql", n);
      kept.push(id);
      const answer = await post(
        Buffer.from(
          JSON.stringify({
            query: "mutation($e: [JSON!]!) { submitEvents(events: $e) { id status code } }",
            variables: { e: [validEvent(type, site, id)] },
          }),
        ),
      );
      fz.takeOutcomes();
      const results = answer.data?.submitEvents as
        Array<{ id: string; status: string }> | undefined;
      if (results?.map((r) => `${r.id} ${r.status}`).join() !== `${id} accepted`)
        throw new Error(`valid event: ${JSON.stringify(answer).slice(0, 300)}`);
    },
    check: () => missingOrDoubled(fz.store, site, kept),
    save: saveBytes,
    load: loadBytes,
    close: () => rig.close(),
  };
}
