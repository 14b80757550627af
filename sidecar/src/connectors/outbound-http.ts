/**
 * Where the sidecar may send HTTP requests that an Odoo manager configured (HTTP sources and
 * sinks, Test Connection). Such a URL is configuration from another system, so it must not be a
 * way into what only the sidecar's host can reach (server-side request forgery): link-local and
 * cloud metadata addresses are refused always, loopback and unspecified addresses unless the
 * sidecar's own configuration allows them (PLANT_BRIDGE_HTTP_ALLOW_LOOPBACK). The check runs on
 * the URL and again on every address DNS gives at connection time, so a name that resolves to a
 * refused address (or is re-pointed after the first check) is refused too.
 */
import dns from "node:dns";
import net from "node:net";
import { Agent, type Dispatcher } from "undici";
import { ConfigError } from "../errors.js";

export interface OutboundPolicy {
  /** Whether loopback (127.0.0.0/8, ::1) and unspecified (0.0.0.0, ::) addresses are allowed. @default false */
  allowLoopback?: boolean;
}

const ALWAYS_REFUSED = new net.BlockList();
ALWAYS_REFUSED.addSubnet("169.254.0.0", 16, "ipv4"); // link-local, 169.254.169.254 metadata
ALWAYS_REFUSED.addSubnet("fe80::", 10, "ipv6"); // link-local
ALWAYS_REFUSED.addAddress("100.100.100.200", "ipv4"); // a cloud metadata service
ALWAYS_REFUSED.addAddress("fd00:ec2::254", "ipv6"); // a cloud metadata service (IPv6)
ALWAYS_REFUSED.addAddress("192.0.0.192", "ipv4"); // a cloud metadata service

const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addSubnet("0.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");
LOOPBACK.addAddress("::", "ipv6");

/** Why an address is refused, or undefined when it may be reached. */
export function refusedAddress(address: string, policy: OutboundPolicy = {}): string | undefined {
  // An IPv4-mapped IPv6 address (::ffff:169.254.169.254) is its IPv4 address.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const ip = mapped ?? address;
  const family = net.isIPv4(ip) ? "ipv4" : net.isIPv6(ip) ? "ipv6" : undefined;
  if (!family) return undefined;
  if (ALWAYS_REFUSED.check(ip, family)) return `${address} is a link-local or metadata address`;
  if (!policy.allowLoopback && LOOPBACK.check(ip, family))
    return `${address} is a loopback address (set PLANT_BRIDGE_HTTP_ALLOW_LOOPBACK=1 to allow it)`;
  return undefined;
}

/** Checks a configured URL before any request: scheme and literal address. */
export function checkOutboundUrl(url: URL, what: string, policy: OutboundPolicy = {}): URL {
  if (!/^https?:$/.test(url.protocol))
    throw new ConfigError("config", `${what}: only http(s) URLs, not ${url.protocol}`);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const refused =
    refusedAddress(host, policy) ??
    (!policy.allowLoopback && /^localhost\.?$/i.test(host)
      ? "localhost is a loopback address (set PLANT_BRIDGE_HTTP_ALLOW_LOOPBACK=1 to allow it)"
      : undefined);
  if (refused) throw new ConfigError("config", `${what}: refused: ${refused}`);
  return url;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | dns.LookupAddress[],
  family?: number,
) => void;

/** An undici dispatcher that refuses, at connection time, every address the policy refuses. */
export function createOutboundDispatcher(policy: OutboundPolicy = {}): Dispatcher {
  const lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const refused = addresses.map((a) => refusedAddress(a.address, policy)).find(Boolean);
      if (refused)
        return callback(
          Object.assign(new Error(`refused: ${hostname} resolves to ${refused}`), {
            code: "EREFUSEDADDRESS",
          }),
          [],
        );
      if (options.all) return callback(null, addresses);
      const first = addresses[0]!;
      return callback(null, first.address, first.family);
    });
  };
  return new Agent({ connect: { lookup: lookup as unknown as net.LookupFunction } });
}
