/**
 * Runs a mapping on one sample the way the sidecar does, with the sidecar's own code
 * (sidecar/src/mapping-core/ and sidecar/src/canonical/): the same selector matching, variables,
 * evaluation and limits, defaults and derived keys, and the same canonical check (the same
 * schemas, the same codes, the same site rule). Only the sample's digest is computed here (Web
 * Crypto), the same sha256 the sidecar's messageDigest computes.
 */
import { createCandidateCheck } from "../../sidecar/src/canonical/check.js";
import { expressionBindings } from "../../sidecar/src/mapping-core/bindings.js";
import {
  DEFAULT_EVALUATION_LIMITS,
  type EvaluationStage,
} from "../../sidecar/src/mapping-core/contract.js";
import { createEvaluator } from "../../sidecar/src/mapping-core/evaluate.js";
import { assignIds, withDefaults, type Fields } from "../../sidecar/src/mapping-core/events.js";
import type {
  MappingEngine,
  PreviewError,
  PreviewEvent,
  PreviewRequest,
  PreviewResult,
  Validation,
} from "../mapping_studio/engine_types.js";
import { sourceBindings } from "./selector.js";

/** The sidecar's evaluation limits (its defaults, PLANT_BRIDGE_MAPPING_TIMEOUT_MS unset). */
export const LIMITS = DEFAULT_EVALUATION_LIMITS;

const WHERE: Record<EvaluationStage, PreviewError["where"]> = {
  compile: "expression",
  input: "input",
  expression: "expression",
  output: "output",
  key: "key",
};

/**
 * sha256 over topic, salt and payload like the sidecar's messageDigest (hex); `exact` is false
 * when the page has no Web Crypto (plain http on a LAN name) and a stand-in hash was used.
 */
async function digest(topic: string, payload: string): Promise<{ hex: string; exact: boolean }> {
  const bytes = new TextEncoder().encode(`${topic}\0\0${payload}`);
  const subtle = globalThis.crypto?.subtle;
  if (typeof subtle?.digest === "function") {
    try {
      const hash = new Uint8Array(await subtle.digest("SHA-256", bytes));
      return { hex: [...hash].map((b) => b.toString(16).padStart(2, "0")).join(""), exact: true };
    } catch {
      // fall through to the stand-in
    }
  }
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193);
  return { hex: (h >>> 0).toString(16).padStart(8, "0").repeat(4), exact: false };
}

export function createPreviewEngine(): MappingEngine {
  const evaluator = createEvaluator();
  const checkCandidate = createCandidateCheck();

  function validateFor(site: string, event: Fields): Validation {
    const v = checkCandidate(event, site);
    if (v.ok) return { ok: true };
    return { ok: false, code: v.code, message: v.message, ...(v.path && { path: v.path }) };
  }

  async function preview(request: PreviewRequest): Promise<PreviewResult> {
    const started = performance.now();
    const { params, extra } = sourceBindings(request.selector, request.source);
    const bindings = expressionBindings({
      topic: request.source,
      params,
      site: request.site,
      receivedAt: request.receivedAt,
      mapping: request.mapping,
      extra,
    });
    const result = (r: Omit<PreviewResult, "ms" | "bindings">): PreviewResult => ({
      ...r,
      bindings,
      ms: performance.now() - started,
    });
    const keyExpression = request.keyExpression?.trim() ? request.keyExpression : undefined;
    const outcome = await evaluator.evaluate({
      expression: request.expression,
      ...(keyExpression && { keyExpression }),
      input: { kind: "text", text: request.payload },
      bindings,
      limits: LIMITS,
    });
    if (!outcome.ok) {
      const error: PreviewError = {
        code: outcome.code,
        message: outcome.message,
        where: WHERE[outcome.stage],
        ...(outcome.position !== undefined && { position: outcome.position }),
      };
      return result({ ok: false, events: [], error });
    }
    const output = JSON.parse(outcome.output) as Fields[];
    const defaults = {
      eventType: request.eventType,
      site: request.site,
      receivedAt: request.receivedAt,
      ...(request.timezone && { timezone: request.timezone }),
    };
    const produced = output.map((item) => withDefaults(item, defaults));
    const hash = await digest(request.source, request.payload);
    const assigned = assignIds(
      { ref: request.ref },
      produced.map((p) => p.event),
      outcome.keys,
      hash.hex,
    );
    const events: PreviewEvent[] = produced.map(({ event, filled }, i) => ({
      event,
      filled: assigned.has(i) ? ["id", ...filled] : filled,
      validation: validateFor(request.site, event),
    }));
    const derived = !keyExpression && assigned.size > 0;
    return result({
      ok: events.every((e) => e.validation.ok),
      output,
      events,
      ...(derived && !hash.exact && { approximateKeys: true }),
    });
  }

  return { preview };
}
