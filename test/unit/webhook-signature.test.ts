import { createHmac } from "node:crypto";
import { createReplayGuard, readClaim, sign } from "../../sidecar/src/ingress/webhook/signature.js";

const SECRET = "whsec-0123456789abcdef0123456789abcdef";

describe("webhook signatures", () => {
  it("signs `<timestamp>.<raw body>` with HMAC-SHA256, as openssl dgst -hmac does", () => {
    const body = '{"id":"a"}';
    const expected = createHmac("sha256", SECRET).update(`1700000000.${body}`).digest("hex");
    expect(sign(SECRET, 1700000000, body)).toBe(`sha256=${expected}`);
  });

  it("reads only well-formed headers", () => {
    const sig = sign(SECRET, 1, "x");
    expect(readClaim({ "x-plant-bridge-timestamp": "1", "x-plant-bridge-signature": sig })).toEqual(
      { timestamp: "1", digest: Buffer.from(sig.slice(7), "hex") },
    );
    for (const headers of [
      {},
      { "x-plant-bridge-timestamp": "1" },
      { "x-plant-bridge-timestamp": "1", "x-plant-bridge-signature": `${sig}, ${sig}` },
      { "x-plant-bridge-timestamp": "1", "x-plant-bridge-signature": sig.toUpperCase() },
      { "x-plant-bridge-timestamp": "1", "x-plant-bridge-signature": `sha256=${"g".repeat(64)}` },
      { "x-plant-bridge-timestamp": "1e9", "x-plant-bridge-signature": sig },
      { "x-plant-bridge-timestamp": "9".repeat(13), "x-plant-bridge-signature": sig },
      { "x-plant-bridge-timestamp": ["1", "2"], "x-plant-bridge-signature": sig },
    ]) {
      expect(readClaim(headers)).toHaveProperty("problem");
    }
  });

  it("refuses timestamps beyond the tolerance, both ways", () => {
    let now = 1_000_000_000;
    const guard = createReplayGuard({ toleranceSeconds: 300, now: () => now });
    expect(guard.stale(String(now / 1000 - 300))).toBeUndefined();
    expect(guard.stale(String(now / 1000 + 300))).toBeUndefined();
    expect(guard.stale(String(now / 1000 - 301))).toMatch(/past/);
    expect(guard.stale(String(now / 1000 + 301))).toMatch(/future/);
    now += 1000;
    expect(guard.stale(String((now - 1000) / 1000 - 300))).toMatch(/past/);
  });

  it("claims a signature once within its window, and forgets beyond its bound", () => {
    let now = 1_000_000_000;
    const guard = createReplayGuard({ toleranceSeconds: 300, maxEntries: 3, now: () => now });
    const ts = String(now / 1000);
    const sig = (n: number) => Buffer.alloc(32, n);
    expect(guard.claim(sig(1), ts)).toBe(true);
    expect(guard.claim(sig(1), ts)).toBe(false);
    guard.release(sig(1));
    expect(guard.claim(sig(1), ts)).toBe(true);
    expect(guard.claim(sig(2), ts)).toBe(true);
    expect(guard.claim(sig(3), ts)).toBe(true);
    // Full: the oldest claim is forgotten to make room (never more than maxEntries held).
    expect(guard.claim(sig(4), ts)).toBe(true);
    expect(guard.claim(sig(1), ts)).toBe(true);
    expect(guard.claim(sig(4), ts)).toBe(false);
    // After its window a signature may be claimed again (its timestamp is stale by then).
    now += 301_000;
    expect(guard.claim(sig(4), ts)).toBe(true);
  });
});
