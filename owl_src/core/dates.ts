/** Odoo's ORM speaks UTC datetimes as "YYYY-MM-DD HH:MM:SS"; the screens work in epoch ms. */

export function parseServerDatetime(value: string | false | null | undefined): number | null {
  if (!value) return null;
  const ms = Date.parse(`${value.replace(" ", "T")}Z`);
  return Number.isNaN(ms) ? null : ms;
}

export function toServerDatetime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/** The web client's language (`<html lang="fr-BE">`), for Intl formatting. */
export function userLocale(): string | undefined {
  return globalThis.document?.documentElement?.lang || undefined;
}

export function formatDatetime(ms: number | null): string {
  if (ms === null) return "";
  return new Intl.DateTimeFormat(userLocale(), { dateStyle: "short", timeStyle: "medium" }).format(
    ms,
  );
}

export function formatClock(ms: number, withSeconds = false): string {
  return new Intl.DateTimeFormat(userLocale(), {
    hour: "2-digit",
    minute: "2-digit",
    ...(withSeconds && { second: "2-digit" }),
  }).format(ms);
}
