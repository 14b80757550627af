import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { layersPlugin } from "./eslint-rules/layers.js";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "data/", "odoo_addon/", "coverage/", ".scratch*"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      "no-restricted-syntax": [
        "error",
        { selector: "ExportDefaultDeclaration", message: "No default exports (STYLE.md)." },
      ],
    },
  },
  {
    // The one dependency rule (docs/ARCHITECTURE.md): adapters import only the core, never each
    // other; the core imports no adapter; only app/ (and main.ts, cli.ts, run.ts) crosses them.
    files: ["sidecar/src/**/*.ts", "owl_src/**/*.ts"],
    plugins: { architecture: layersPlugin },
    rules: { "architecture/layers": "error" },
  },
  {
    files: ["*.js", "*.config.js", "eslint-rules/*.js"],
    rules: { "no-restricted-syntax": "off" },
  },
);
