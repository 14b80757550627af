/**
 * The sidecar's one dependency rule (docs/ARCHITECTURE.md), as an ESLint rule: adapters import
 * only the core, never each other; the core imports no adapter; only the wiring crosses them.
 * Each relative import is resolved to the folder it lands in, so the rule reads the layout, not
 * the spelling of the path.
 */
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const SRC = path.join(ROOT, "sidecar", "src");
const OWL = path.join(ROOT, "owl_src");

/** Where each folder (or root module) of sidecar/src sits. */
export const LAYERS = {
  core: [
    "contracts",
    "canonical",
    "mapping-core",
    "connectors",
    "pipeline",
    "store",
    "scheduler",
    "config.ts",
    "errors.ts",
    "logger.ts",
    "metrics.ts",
    "paths.ts",
    "listen.ts",
    "safe-equal.ts",
  ],
  adapter: ["ingress", "odoo", "egress", "api", "sim"],
  wiring: ["app", "main.ts", "cli.ts", "run.ts"],
};

/** What the browser bundle (owl_src) may take from the sidecar: pure code only. */
const BROWSER_SAFE = ["mapping-core", "canonical", "contracts", "errors.ts"];

function unitOf(file) {
  const rel = path.relative(SRC, file);
  if (rel.startsWith("..") || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep)[0];
}

function layerOf(unit) {
  return Object.keys(LAYERS).find((layer) => LAYERS[layer].includes(unit));
}

function resolveTarget(file, source) {
  if (!source.startsWith(".")) return undefined;
  return path.resolve(path.dirname(file), source).replace(/\.js$/, ".ts");
}

/** @type {import("eslint").Rule.RuleModule} */
export const layersRule = {
  meta: {
    type: "problem",
    docs: { description: "Imports follow the sidecar's layers (docs/ARCHITECTURE.md)." },
    schema: [],
    messages: {
      unknown:
        "{{unit}} is in no layer: add it to eslint-rules/layers.js and docs/ARCHITECTURE.md.",
      coreToOuter:
        "The core ({{from}}/) imports no {{layer}} ({{to}}/): move the shared part into the core.",
      adapterToAdapter:
        "Adapters never import each other ({{from}}/ -> {{to}}/): share it through the core (contracts/, connectors/...) and let app/ wire them.",
      adapterToWiring: "Only main.ts, cli.ts and run.ts import the wiring (app/).",
      storeInAdapter:
        "Adapters take the store as a type ({{to}}): app/ opens it (import type, or store/types.js).",
      contractsRuntime: "contracts/ holds types only: use `import type`.",
      notBrowserSafe:
        "{{to}} is not browser-safe: the browser bundle takes only mapping-core/, canonical/, contracts/ and errors.ts.",
      nodeInBrowserCode: "mapping-core/ runs in the browser too: no Node.js module ({{to}}).",
    },
  },
  create(context) {
    const file = context.filename;
    const inOwl = !path.relative(OWL, file).startsWith("..");
    const from = unitOf(file);
    const fromLayer = from && layerOf(from);

    function check(node, source, typeOnly) {
      if (from === "mapping-core" && /^node:|^(fs|path|crypto|os|worker_threads)$/.test(source))
        return context.report({ node, messageId: "nodeInBrowserCode", data: { to: source } });
      if (from === "contracts" && !typeOnly)
        return context.report({ node, messageId: "contractsRuntime" });
      const target = resolveTarget(file, source);
      if (!target) return;
      const to = unitOf(target);
      if (to === undefined) return;
      if (inOwl) {
        if (!BROWSER_SAFE.includes(to))
          context.report({ node, messageId: "notBrowserSafe", data: { to: `${to}/` } });
        return;
      }
      if (from === undefined || from === to) return;
      if (!fromLayer) return context.report({ node, messageId: "unknown", data: { unit: from } });
      const toLayer = layerOf(to);
      if (!toLayer) return context.report({ node, messageId: "unknown", data: { unit: to } });
      if (fromLayer === "wiring") return;
      if (toLayer === "wiring") return context.report({ node, messageId: "adapterToWiring" });
      if (fromLayer === "core" && toLayer !== "core")
        return context.report({
          node,
          messageId: "coreToOuter",
          data: { from, to, layer: toLayer },
        });
      if (fromLayer === "adapter" && toLayer === "adapter")
        return context.report({ node, messageId: "adapterToAdapter", data: { from, to } });
      if (
        fromLayer === "adapter" &&
        to === "store" &&
        !typeOnly &&
        !target.endsWith(path.join("store", "types.ts"))
      )
        context.report({ node, messageId: "storeInAdapter", data: { to: source } });
    }

    const typeOnlyImport = (node) =>
      node.importKind === "type" ||
      (node.specifiers?.length > 0 && node.specifiers.every((s) => s.importKind === "type"));

    return {
      ImportDeclaration(node) {
        check(node, node.source.value, typeOnlyImport(node));
      },
      ExportNamedDeclaration(node) {
        if (node.source) check(node, node.source.value, node.exportKind === "type");
      },
      ExportAllDeclaration(node) {
        check(node, node.source.value, node.exportKind === "type");
      },
      ImportExpression(node) {
        if (node.source.type === "Literal" && typeof node.source.value === "string")
          check(node, node.source.value, false);
      },
    };
  },
};

export const layersPlugin = { rules: { layers: layersRule } };
