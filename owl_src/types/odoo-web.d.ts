/**
 * Ambient types of the few `@web/...` modules the Plant Bridge screens import (OWL.md pitfall 7:
 * pointing TypeScript at Odoo's JS sources gives hundreds of errors). At runtime these modules
 * are Odoo's own; in jest they are the fakes of test/owl/fakes/web/.
 */

declare module "@web/core/l10n/translation" {
  export function _t(source: string, ...values: unknown[]): string;
}

declare module "@web/core/registry" {
  export interface Category<T = unknown> {
    add(key: string, value: T, options?: { sequence?: number; force?: boolean }): Category<T>;
    get(key: string, defaultValue?: T): T;
    contains(key: string): boolean;
    remove(key: string): void;
    getAll(): T[];
  }
  export const registry: { category<T = unknown>(name: string): Category<T> };
}

declare module "@web/core/utils/hooks" {
  /** Typed by owl_src/core/services.ts. */
  export function useService(name: string): unknown;
}

declare module "@web/webclient/actions/action_service" {
  // OWL does not export its props Schema type
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  export const standardActionServiceProps: Record<string, any>;
}

declare module "@web/search/layout" {
  import type { Component } from "@odoo/owl";
  export const Layout: typeof Component;
}

declare module "@web/core/assets" {
  export function loadBundle(name: string): Promise<void>;
}

declare module "@web/core/autocomplete/autocomplete" {
  import type { Component } from "@odoo/owl";
  export const AutoComplete: typeof Component;
}

declare module "@web/views/widgets/standard_widget_props" {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  export const standardWidgetProps: Record<string, any>;
}
