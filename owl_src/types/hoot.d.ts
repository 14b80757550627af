/**
 * Ambient types of Odoo 19's test framework (Hoot) and web test helpers, for the Hoot tests in
 * owl_src/tests/ (bundled to static/tests/, run inside Odoo). Only what those tests use.
 */
/* eslint-disable @typescript-eslint/no-explicit-any */

declare module "@odoo/hoot" {
  export function describe(name: string, fn: () => void): void;
  export function test(name: string, fn: () => Promise<void> | void): void;
  export function beforeEach(fn: () => Promise<void> | void): void;
  interface Matchers {
    toBe(value: unknown): void;
    toEqual(value: unknown): void;
    toHaveCount(count: number): void;
    toHaveText(text: string | RegExp): void;
    toHaveValue(value: unknown): void;
    toHaveAttribute(name: string, value?: string): void;
    toHaveClass(name: string): void;
    toInclude(value: unknown): void;
    not: Matchers;
  }
  export const expect: ((value: unknown) => Matchers) & {
    step(value: unknown): void;
    verifySteps(steps: unknown[]): void;
  };
}

declare module "@odoo/hoot-dom" {
  export function queryAllTexts(selector: string): string[];
  export function queryOne(selector: string): HTMLElement;
  export function queryAll(selector: string): HTMLElement[];
}

declare module "@odoo/hoot-mock" {
  export function animationFrame(): Promise<void>;
  export function advanceTime(ms: number): Promise<void>;
  export function runAllTimers(): Promise<void>;
}

declare module "@web/../tests/web_test_helpers" {
  export const models: { Model: new () => any };
  type Field = (options?: Record<string, unknown>) => any;
  export const fields: {
    Char: Field;
    Text: Field;
    Integer: Field;
    Float: Field;
    Boolean: Field;
    Datetime: Field;
    Json: Field;
    Selection: Field;
    Many2one: Field;
  };
  export function defineModels(models: unknown[]): void;
  export function onRpc(model: string, method: string, handler: (params: any) => unknown): void;
  export function onRpc(route: string, handler: (params: any) => unknown): void;
  export function mountWebClient(options?: Record<string, unknown>): Promise<unknown>;
  export function mountView(options: Record<string, unknown>): Promise<unknown>;
  export function getService(name: string): any;
  export function preloadBundle(name: string): void;
  export function contains(selector: string): {
    click(): Promise<void>;
    edit(value: string, options?: { confirm?: boolean | string }): Promise<void>;
    select(value: string): Promise<void>;
  };
}

declare module "@mail/../tests/mail_test_helpers" {
  export function defineMailModels(): void;
}
