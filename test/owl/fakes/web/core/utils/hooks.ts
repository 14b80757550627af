import { useEnv } from "@odoo/owl";

/** Fake of Odoo's useService: the service from `env.services`, like the real one. */
export function useService(name: string): unknown {
  const services = (useEnv() as { services: Record<string, unknown> }).services;
  if (!(name in services)) throw new Error(`Service ${name} is not available`);
  return services[name];
}
