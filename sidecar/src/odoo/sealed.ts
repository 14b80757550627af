import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/**
 * Sealing of what the sidecar keeps of Odoo's configuration in its store (connector secrets:
 * database passwords, API keys of other systems). AES-256-GCM under a key derived (HKDF-SHA256)
 * from the connector's Odoo API key and a purpose, so a copy of the store (a backup, a shared
 * PostgreSQL schema a DBA can read) does not give the secrets away. A sealed value opens only
 * with the same API key: after a key rotation the cache is not readable and the sidecar waits
 * for Odoo's answer instead.
 */
const VERSION = "pb-sealed-1";

function keyFor(secret: string, purpose: string): Buffer {
  return Buffer.from(hkdfSync("sha256", secret, "plant-bridge sealed state", purpose, 32));
}

export function seal(plain: string, secret: string, purpose: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keyFor(secret, purpose), iv);
  cipher.setAAD(Buffer.from(purpose));
  const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return JSON.stringify({
    v: VERSION,
    iv: iv.toString("base64"),
    tag: cipher.getAuthTag().toString("base64"),
    data: data.toString("base64"),
  });
}

/** The plain text, or undefined when `sealed` is not a value sealed with this secret and purpose. */
export function unseal(sealed: string, secret: string, purpose: string): string | undefined {
  try {
    const box = JSON.parse(sealed) as { v?: unknown; iv?: string; tag?: string; data?: string };
    if (box.v !== VERSION || !box.iv || !box.tag || !box.data) return undefined;
    const decipher = createDecipheriv(
      "aes-256-gcm",
      keyFor(secret, purpose),
      Buffer.from(box.iv, "base64"),
    );
    decipher.setAAD(Buffer.from(purpose));
    decipher.setAuthTag(Buffer.from(box.tag, "base64"));
    return Buffer.concat([
      decipher.update(Buffer.from(box.data, "base64")),
      decipher.final(),
    ]).toString("utf8");
  } catch {
    return undefined;
  }
}
