import type { SiteConfig } from "../contracts/site-config.js";
import type { OdooClient } from "../contracts/odoo-api.js";
import type { Logger } from "../logger.js";
import type { Store } from "../store/types.js";
import { seal, unseal } from "./sealed.js";

export interface ConfigSyncOptions {
  client: OdooClient;
  site: string;
  logger: Logger;
  /** Poll interval; a poll with an unchanged revision is one cheap call. @default 30000 */
  intervalMs?: number;
  /** Called with each new revision (not with an unchanged one). */
  onChange?: (config: SiteConfig) => void | Promise<void>;
  /**
   * Keeps the last configuration loaded, so a sidecar restarted while Odoo is unreachable runs
   * on its last-known configuration instead of waiting. @default no cache
   */
  store?: Store;
  /**
   * Seals the cached configuration (it holds connector secrets) with a key derived from this
   * secret, the connector's Odoo API key: a copy of the store does not give them away, and a
   * cache sealed under another key is not used.
   */
  cacheSecret: string;
  /** The environment this sidecar declares (Odoo refuses the configuration to another one). */
  environment?: string;
}

export interface ConfigSync {
  /** The last configuration loaded, if any. */
  current(): SiteConfig | undefined;
  /** Polls once now; resolves true when a new revision was applied. */
  poll(): Promise<boolean>;
  /**
   * The connector's API key changed (rotation): the cache is sealed again under the new key
   * at once, so a restart after the old key is revoked still finds a readable cache.
   */
  rekey(cacheSecret: string): Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

/**
 * Pulls the site's configuration revision from Odoo on start and every interval; a new revision
 * is applied without a restart through `onChange`.
 */
export function createConfigSync(options: ConfigSyncOptions): ConfigSync {
  const { client, logger } = options;
  let config: SiteConfig | undefined;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<boolean> | undefined;
  let cacheSecret = options.cacheSecret;

  const cacheKey = `odoo.config.${options.site}`;

  async function loadCached(): Promise<void> {
    const cached = await options.store?.getState(cacheKey);
    if (!cached || config) return;
    const plain = unseal(cached, cacheSecret, cacheKey);
    if (plain === undefined) {
      logger.warn(
        { site: options.site },
        "the cached configuration was sealed with another API key (or is from an older release): waiting for Odoo",
      );
      return;
    }
    config = JSON.parse(plain) as SiteConfig;
    logger.info(
      { site: options.site, revision: config.revision },
      "running on the last configuration loaded from Odoo until Odoo answers",
    );
    await options.onChange?.(config);
  }

  async function saveCache(c: SiteConfig): Promise<void> {
    await options.store?.setState([
      { key: cacheKey, value: seal(JSON.stringify(c), cacheSecret, cacheKey) },
    ]);
  }

  async function pollOnce(): Promise<boolean> {
    const known = config?.revision ?? 0;
    const answer = await client.call<Partial<SiteConfig> & { changed: boolean; revision: number }>(
      "plant_bridge.api",
      "get_config",
      {
        site: options.site,
        known_revision: known,
        ...(options.environment && { environment: options.environment }),
      },
    );
    if (!answer.changed && config) return false;
    config = answer as SiteConfig;
    await saveCache(config);
    logger.info(
      {
        site: options.site,
        revision: config.revision,
        connectors: config.connectors.length,
        mappings: config.mappings.length,
        schedules: config.schedules.length,
      },
      "configuration loaded from Odoo",
    );
    await options.onChange?.(config);
    return true;
  }

  function poll(): Promise<boolean> {
    polling ??= pollOnce().finally(() => (polling = undefined));
    return polling;
  }

  return {
    current: () => config,
    poll,
    async rekey(secret: string) {
      if (secret === cacheSecret) return;
      cacheSecret = secret;
      if (config) await saveCache(config);
    },
    start() {
      const tick = () =>
        void poll().catch((err: unknown) =>
          logger.warn(
            { err: { message: (err as Error).message, code: (err as { code?: string }).code } },
            "configuration poll failed",
          ),
        );
      void loadCached()
        .catch((err: unknown) => logger.warn({ err }, "could not read the cached configuration"))
        .finally(tick);
      timer = setInterval(tick, options.intervalMs ?? 30_000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await polling?.catch(() => undefined);
    },
  };
}
