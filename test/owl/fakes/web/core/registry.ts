/** Fake of Odoo's registry: named categories of keyed entries (enough for registrations). */
class Category<T = unknown> {
  private entries = new Map<string, T>();
  add(key: string, value: T, options: { force?: boolean } = {}) {
    if (this.entries.has(key) && !options.force) throw new Error(`${key} is already registered`);
    this.entries.set(key, value);
    return this;
  }
  get(key: string, defaultValue?: T): T {
    if (this.entries.has(key)) return this.entries.get(key)!;
    if (arguments.length > 1) return defaultValue as T;
    throw new Error(`Cannot find ${key} in this registry`);
  }
  contains(key: string) {
    return this.entries.has(key);
  }
  remove(key: string) {
    this.entries.delete(key);
  }
  getAll(): T[] {
    return [...this.entries.values()];
  }
}

const categories = new Map<string, Category>();

export const registry = {
  category<T = unknown>(name: string): Category<T> {
    if (!categories.has(name)) categories.set(name, new Category());
    return categories.get(name) as Category<T>;
  },
};
