export interface TtlCacheOptions {
  /** How long a value is reused. @default 5000 */
  ttlMs?: number;
  /** Most entries kept; the oldest go first. @default 10000 */
  maxEntries?: number;
  /** @default Date.now */
  now?: () => number;
}

/**
 * A short-lived cache of promises: concurrent readers of one key share one call, a failed call
 * is forgotten at once, and an answer is reused for `ttlMs` (Odoo's data may be that stale).
 */
export class TtlCache<V> {
  private readonly entries = new Map<string, { at: number; value: Promise<V> }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: TtlCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 5000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  get(key: string): Promise<V> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.now() - entry.at >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: Promise<V>): Promise<V> {
    if (this.ttlMs <= 0) return value;
    this.entries.delete(key);
    this.entries.set(key, { at: this.now(), value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    while (this.entries.size > this.maxEntries) {
      this.entries.delete(this.entries.keys().next().value!);
    }
    return value;
  }

  /** The cached value of `key`, or the result of `load()` cached under it. */
  getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    return this.get(key) ?? this.set(key, load());
  }

  clear(): void {
    this.entries.clear();
  }
}
