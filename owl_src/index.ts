/**
 * The Plant Bridge screens, bundled into static/src/bundle/plant_bridge.js. Each module registers
 * its client action (or widget) at its bottom; the exports let other addons patch them.
 */
export { Dashboard } from "./dashboard/dashboard.js";
export { MetricChart } from "./dashboard/metric_chart.js";
export { MappingStudio } from "./mapping_studio/mapping_studio.js";
export { ExceptionQueue } from "./exception_queue/exception_queue.js";
export { OrderTrace } from "./order_trace/order_trace.js";
export { ConnectorTest } from "./connector_test/connector_test.js";
export { Plants } from "./plants/plants.js";
