/**
 * A loopback TCP proxy for the fault scenarios: it forwards to `target` and can break what it
 * carries, as a network does: `resetAll()` resets every open connection (RST, both sides), and
 * `cutAnswer` decides, from the bytes a client sent, whether the answer to that request is cut
 * (both connections closed the moment the server starts answering: the server did the work,
 * the client never hears it). `freeze()` cuts the network without closing anything: both sides
 * keep their connections and hear nothing (bytes are held, as a network that drops them would
 * have them sent again) until `thaw()`.
 */
import net from "node:net";
import { freePort } from "../../test/helpers/sidecar-process.js";

export interface FaultProxy {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /** Answers cut by `cutAnswer`. */
  cut: number;
  /** Connections reset by `resetAll()`. */
  reset: number;
  resetAll(): void;
  /** Stops carrying bytes either way; connections stay open (a cut network). */
  freeze(): void;
  /** Carries again, the held bytes first. */
  thaw(): void;
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** Called with each chunk a client sends; true: cut the answer to it. */
  cutAnswer?: (chunk: Buffer) => boolean;
}

export async function faultProxy(
  target: number,
  options: FaultProxyOptions = {},
): Promise<FaultProxy> {
  const port = await freePort();
  const pairs = new Set<[net.Socket, net.Socket]>();
  let frozen = false;
  const held: Array<() => void> = [];
  const proxy: FaultProxy = {
    port,
    connections: 0,
    cut: 0,
    reset: 0,
    resetAll() {
      for (const [client, upstream] of pairs) {
        proxy.reset++;
        client.resetAndDestroy();
        upstream.resetAndDestroy();
      }
      pairs.clear();
    },
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      for (const send of held.splice(0)) send();
    },
    close: () =>
      new Promise((resolve) => {
        for (const [client, upstream] of pairs) {
          client.destroy();
          upstream.destroy();
        }
        pairs.clear();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((client) => {
    proxy.connections++;
    const upstream = net.connect(target, "127.0.0.1");
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    let cutNextAnswer = false;
    client.on("data", (d: Buffer) => {
      if (frozen) return void held.push(() => upstream.destroyed || upstream.write(d));
      if (options.cutAnswer?.(d)) cutNextAnswer = true;
      upstream.write(d);
    });
    upstream.on("data", (d: Buffer) => {
      if (frozen) return void held.push(() => client.destroyed || client.write(d));
      if (cutNextAnswer) {
        proxy.cut++;
        end();
        return;
      }
      client.write(d);
    });
    function end() {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    }
    client.on("error", end).on("close", end);
    // the server's close does not cross a cut network either
    const upstreamGone = () => (frozen ? void held.push(end) : end());
    upstream.on("error", upstreamGone).on("close", upstreamGone);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return proxy;
}
