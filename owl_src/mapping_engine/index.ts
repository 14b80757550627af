/**
 * The lazily loaded bundle plant_bridge.mapping_engine (static/src/lazy/mapping_engine.js): the
 * Mapping Studio calls loadBundle() then takes the engine from the "plant_bridge" registry.
 */
import { registry } from "@web/core/registry";
import { createPreviewEngine } from "./preview.js";

registry.category("plant_bridge").add("mapping_engine", createPreviewEngine());
