/**
 * The objects resolvers hand to each other (graphql-codegen "mappers"): the canonical read model
 * as the Odoo reader shapes it, in the schema's words. Fields that need another read (components,
 * work orders, lots) are resolved through the request's DataLoaders, not carried here.
 */
import type {
  Disposition,
  HoldState,
  LossType,
  LotUseKind,
  MachineState,
  ProductionOrderState,
  QualityOutcome,
  RecordKind,
  Tracking,
  WorkOrderState,
  WorkingState,
} from "./generated/graphql.js";

export interface Site {
  code: string;
  name: string;
  timezone: string;
  warehouse: string | null;
}

export interface Product {
  reference: string | null;
  name: string;
  tracking: Tracking;
}

export interface Downtime {
  workCenter: string;
  reason: string;
  lossType: LossType;
  start: string;
  end: string | null;
  durationMinutes: number;
  description: string | null;
}

export interface WorkCenter {
  site: string;
  key: string;
  name: string;
  code: string | null;
  status: MachineState | null;
  statusSince: string | null;
  statusAt: string | null;
  counters: unknown;
  workingState: WorkingState;
  currentDowntime: Downtime | null;
  equipment: string[];
  oeeTarget: number | null;
}

export interface ProductionOrder {
  site: string;
  name: string;
  /** The name the order was released with (the plant reports under it); `name` once renamed. */
  orderKey: string;
  state: ProductionOrderState;
  product: Product;
  uom: string;
  quantity: { planned: number; producing: number; produced: number; scrapped: number };
  plannedStart: string | null;
  plannedEnd: string | null;
  deadline: string | null;
  origin: string | null;
  onHold: boolean;
}

export interface QualityResult {
  id: string;
  test: string;
  result: QualityOutcome;
  value: string | null;
  occurredAt: string | null;
  order: string | null;
  lot: string | null;
  product: string | null;
  hold: boolean;
  holdState: HoldState;
  releasedAt: string | null;
}

export interface ComplianceRecord {
  id: string;
  kind: RecordKind;
  title: string;
  occurredAt: string | null;
  lot: string | null;
  product: string | null;
  order: string | null;
  delivery: string | null;
  customer: string | null;
  sha256: string;
  uri: string | null;
  mediaType: string | null;
  size: number | null;
}

export interface Nonconformance {
  id: string;
  defect: string;
  disposition: Disposition;
  quantity: number;
  occurredAt: string | null;
  order: string | null;
  lot: string | null;
  product: string | null;
  approvedBy: string | null;
  qualityResult: string | null;
  reference: string | null;
}

export interface LotQuantity {
  site: string;
  name: string;
  quantity: number;
}

export interface Component {
  site: string;
  product: Product;
  uom: string;
  quantityPlanned: number;
  quantityReserved: number;
  quantityConsumed: number;
  state: string;
  lots: LotQuantity[];
}

export interface WorkOrder {
  site: string;
  operation: string;
  workCenterKey: string;
  state: WorkOrderState;
  sequence: number;
  plannedStart: string | null;
  plannedEnd: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  expectedMinutes: number;
  actualMinutes: number;
  quantityProduced: number;
}

/** Components, work orders, finished lots and quality results of one order (one batched read). */
export interface OrderDetails {
  name: string;
  components: Component[];
  workOrders: WorkOrder[];
  finishedLots: string[];
  qualityResults: QualityResult[];
}

export interface LotComponent {
  site: string;
  order: string;
  product: Product;
  lotName: string;
  quantity: number;
}

export interface LotUse {
  site: string;
  kind: LotUseKind;
  reference: string;
  quantity: number;
  date: string | null;
  producedLots: string[];
}

export interface Lot {
  site: string;
  name: string;
  product: Product;
  onHold: boolean;
  producedBy: string[];
  components: LotComponent[];
  usedIn: LotUse[];
  qualityResults: QualityResult[];
  records: ComplianceRecord[];
  nonconformances: Nonconformance[];
}

export interface MaintenanceRequest {
  id: string;
  name: string;
  kind: "corrective" | "preventive";
  stage: string | null;
  done: boolean;
  workCenter: string | null;
  equipment: string | null;
  requestedAt: string | null;
  scheduledAt: string | null;
  description: string | null;
}

/**
 * Odoo's OEE figures of one work center over a period (`plant_bridge.api.read_oee`): minutes per
 * loss type of the time logs that started in it (closed ones), and what `mrp.workcenter` shows.
 */
export interface OeeMinutes {
  key: string;
  from: string;
  to: string;
  minutes: Record<LossType, number>;
  /** Odoo's OEE in percent (2 digits), 0 when nothing productive. */
  oee: number;
  /** Hours, as Odoo's Productive Time / Blocked Time (2 digits). */
  productive_time: number;
  blocked_time: number;
  /** Odoo's Performance: whole percent of expected over actual work order minutes. */
  performance: number;
  /** Expected and actual minutes of the work orders done that started in the period. */
  work_orders: { expected: number; actual: number };
}

/** The parent of `Sidecar` fields; `metrics` is resolved on demand. */
export interface Sidecar {
  name: string;
  version: string;
  site: string;
  storeKind: string;
  mqttConnected: boolean;
  odooConfigured: boolean;
  odooUp: boolean;
  sites: Array<{
    site: string;
    pending: number;
    deadLetters: number;
    oldestPendingAt: Date | null;
  }>;
}
