/**
 * `npm run bench`: runs every benchmark (or those named on the command line) and writes one JSON
 * file per benchmark under bench/results/.
 */
const BENCHES: Record<string, () => Promise<{ run: () => Promise<void> }>> = {
  "mqtt-ingest": () => import("./mqtt-ingest.bench.js"),
  graphql: () => import("./graphql.bench.js"),
  "odoo-pipeline": () => import("./odoo-pipeline.bench.js"),
  "odoo-post": () => import("./odoo-post.bench.js"),
  "odoo-heavy": () => import("./odoo-heavy.bench.js"),
  "posting-scale": () => import("./posting-scale.bench.js"),
  lanes: () => import("./lanes.bench.js"),
  legacy: () => import("./legacy.bench.js"),
  mapping: () => import("./mapping.bench.js"),
  "mapping-sparkplug": () => import("./mapping-sparkplug.bench.js"),
};

const wanted = process.argv.slice(2);
for (const [name, load] of Object.entries(BENCHES)) {
  if (wanted.length && !wanted.includes(name)) continue;
  console.log(`--- ${name}`);
  await (await load()).run();
}
process.exit(0);
