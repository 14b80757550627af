/** Fake of Odoo's `_t`: no translation, the same `%s` / `%(name)s` substitution. */
export function _t(source: string, ...values: unknown[]): string {
  if (!values.length) return source;
  const first = values[0];
  if (values.length === 1 && first && typeof first === "object") {
    const named = first as Record<string, unknown>;
    return source.replace(/%\((\w+)\)s/g, (_m, name: string) => String(named[name]));
  }
  let i = 0;
  return source.replace(/%s/g, () => String(values[i++]));
}
