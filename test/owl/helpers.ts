/**
 * Mounting the Plant Bridge OWL screens outside Odoo (jsdom): the addon's templates read from
 * owl_src/, `@web/...` imports aliased to the fakes of test/owl/fakes/web (jest.config.js), and
 * services that record every call, so a test can assert the ORM-call contract.
 */
// the ambient @web/... types the screens are written against (the root tsconfig does not include owl_src/)
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="../../owl_src/types/odoo-web.d.ts" />
import { mount, type App } from "@odoo/owl";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const OWL_SRC = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "owl_src");

function xmlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory()
      ? xmlFiles(join(dir, d.name))
      : d.name.endsWith(".xml")
        ? [join(dir, d.name)]
        : [],
  );
}

/** Every `<t t-name>` of owl_src/**\/*.xml in one `<templates>` document. */
export function loadTemplates(): string {
  const inner = xmlFiles(OWL_SRC).map((path) =>
    readFileSync(path, "utf8")
      .replace(/<\?xml[^>]*\?>/, "")
      .replace(/<templates[^>]*>/, "")
      .replace(/<\/templates>\s*$/, ""),
  );
  return `<templates>${inner.join("\n")}</templates>`;
}

export interface Call {
  method: string;
  model: string;
  args: unknown[];
}

export type OrmHandler = (call: Call) => unknown;

/** An ORM service that records calls and answers with `handler` (async, like the real one). */
export function createOrm(handler: OrmHandler) {
  const calls: Call[] = [];
  const record =
    (method: string) =>
    async (model: string, ...args: unknown[]) => {
      const call = { method, model, args };
      calls.push(call);
      return handler(call);
    };
  return {
    calls,
    call: async (
      model: string,
      method: string,
      args: unknown[] = [],
      kwargs: Record<string, unknown> = {},
    ) => {
      const call = { method: `call:${method}`, model, args: [args, kwargs] };
      calls.push(call);
      return handler(call);
    },
    searchRead: record("searchRead"),
    searchCount: record("searchCount"),
    read: record("read"),
    write: record("write"),
    create: record("create"),
    formattedReadGroup: record("formattedReadGroup"),
    /** Calls of one method (and model). */
    of(method: string, model?: string) {
      return calls.filter((c) => c.method === method && (!model || c.model === model));
    },
  };
}

export function createAction() {
  const actions: { action: unknown; options?: Record<string, unknown> }[] = [];
  return {
    actions,
    doAction: async (action: unknown, options?: Record<string, unknown>) => {
      actions.push({ action, options });
      return true;
    },
  };
}

export function createNotification() {
  const notifications: { message: string; type?: string }[] = [];
  return {
    notifications,
    add: (message: string, options: { type?: string } = {}) => {
      notifications.push({ message, type: options.type });
      return () => undefined;
    },
  };
}

/** Lets OWL render: timers, microtasks and an animation frame, a few rounds. */
export async function settle(rounds = 6): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    await new Promise((resolve) => requestAnimationFrame(() => resolve(undefined)));
  }
}

export interface Mounted<C> {
  component: C;
  target: HTMLElement;
  destroy(): void;
}

export async function mountScreen<C>(
  Component: new (...args: never[]) => C,
  options: { services: Record<string, unknown>; props?: Record<string, unknown> },
): Promise<Mounted<C>> {
  const target = document.createElement("div");
  document.body.appendChild(target);
  const env = { services: options.services };
  const component = (await mount(Component as never, target, {
    env,
    props: options.props ?? { action: { context: {} } },
    templates: loadTemplates(),
    test: true,
    warnIfNoStaticProps: true,
  })) as C;
  await settle();
  const app = (component as unknown as { __owl__: { app: App } }).__owl__.app;
  return {
    component,
    target,
    destroy() {
      app.destroy();
      target.remove();
    },
  };
}

const BLOCKS = new Set([
  "DIV",
  "P",
  "LI",
  "TD",
  "TH",
  "DT",
  "DD",
  "PRE",
  "H1",
  "H2",
  "H3",
  "H4",
  "LABEL",
  "TEXTAREA",
]);

/** Visible text with block boundaries as spaces (roughly what innerText gives, which jsdom lacks). */
export function text(el: Element | null | undefined): string {
  const parts: string[] = [];
  const walk = (node: Node) => {
    if (node.nodeType === Node.TEXT_NODE) parts.push(node.nodeValue ?? "");
    const block = node.nodeType === Node.ELEMENT_NODE && BLOCKS.has((node as Element).tagName);
    if (block) parts.push(" ");
    node.childNodes.forEach(walk);
    if (block) parts.push(" ");
  };
  if (el) walk(el);
  return parts.join("").replace(/\s+/g, " ").trim();
}

export function all(target: Element, selector: string): HTMLElement[] {
  return [...target.querySelectorAll<HTMLElement>(selector)];
}

export async function click(el: Element | null | undefined): Promise<void> {
  if (!el) throw new Error("nothing to click");
  (el as HTMLElement).click();
  await settle();
}

export async function type(el: Element | null | undefined, value: string): Promise<void> {
  if (!el) throw new Error("nothing to type in");
  const input = el as HTMLInputElement | HTMLTextAreaElement;
  input.value = value;
  input.dispatchEvent(new Event("input", { bubbles: true }));
  await settle();
}

/** "YYYY-MM-DD HH:MM:SS" UTC, like the ORM returns datetimes. */
export function serverTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}
