// Jest runs the TypeScript sources as native ES modules (npm test passes
// --experimental-vm-modules); @swc/jest strips the types.
const swc = [
  "@swc/jest",
  {
    jsc: { target: "es2022", parser: { syntax: "typescript" } },
    module: { type: "es6" },
  },
];

/** @type {import('jest').Config} */
export default {
  testEnvironment: "node",
  extensionsToTreatAsEsm: [".ts"],
  transform: { "^.+\\.ts$": swc },
  moduleNameMapper: {
    "^(\\.{1,2}/.*)\\.js$": "$1",
    // the OWL screens import Odoo's @web modules: outside Odoo, small fakes (test/owl/)
    "^@web/(.*)$": "<rootDir>/test/owl/fakes/web/$1",
  },
  testMatch: ["<rootDir>/test/**/*.test.ts"],
  testTimeout: 30000,
  maxWorkers: 2,
  // Suites drive real processes (Odoo, brokers, sidecars); a handle one of them leaves open must
  // never hang CI after the results are in.
  forceExit: true,
};
