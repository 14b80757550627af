/**
 * The subset of Odoo 19's services the Plant Bridge screens use, typed once. `useService` is
 * Odoo's own hook; this wrapper only gives it these types.
 */
import { useService as odooUseService } from "@web/core/utils/hooks";

export type Domain = unknown[];
export type Kwargs = Record<string, unknown>;

export interface ORM {
  call<T = unknown>(model: string, method: string, args?: unknown[], kwargs?: Kwargs): Promise<T>;
  searchRead<T = Record<string, unknown>>(
    model: string,
    domain: Domain,
    fields: string[],
    kwargs?: Kwargs,
  ): Promise<T[]>;
  searchCount(model: string, domain: Domain, kwargs?: Kwargs): Promise<number>;
  read<T = Record<string, unknown>>(
    model: string,
    ids: number[],
    fields: string[],
    kwargs?: Kwargs,
  ): Promise<T[]>;
  write(model: string, ids: number[], values: Record<string, unknown>): Promise<boolean>;
  create(model: string, records: Record<string, unknown>[], kwargs?: Kwargs): Promise<number[]>;
  formattedReadGroup<T = Record<string, unknown>>(
    model: string,
    domain: Domain,
    groupby: string[],
    aggregates: string[],
    kwargs?: Kwargs,
  ): Promise<T[]>;
}

export interface ActionService {
  doAction(
    action: string | number | Record<string, unknown>,
    options?: Record<string, unknown>,
  ): Promise<unknown>;
}

export interface NotificationService {
  add(
    message: string,
    options?: {
      type?: "info" | "success" | "warning" | "danger";
      title?: string;
      sticky?: boolean;
    },
  ): () => void;
}

export interface Services {
  orm: ORM;
  action: ActionService;
  notification: NotificationService;
}

export function useService<K extends keyof Services>(name: K): Services[K] {
  return odooUseService(name) as Services[K];
}

/** A many2one as the ORM reads it: `[id, display name]` or `false`. */
export type Many2one = [number, string] | false;
