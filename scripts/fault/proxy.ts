/**
 * A loopback TCP proxy for the fault scenarios: it forwards to `target` and can break what it
 * carries, as a network does: `resetAll()` resets every open connection (RST, both sides), and
 * `cutAnswer` decides, from the bytes a client sent, whether the answer to that request is cut
 * (both connections closed the moment the server starts answering: the server did the work,
 * the client never hears it).
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
      if (options.cutAnswer?.(d)) cutNextAnswer = true;
      upstream.write(d);
    });
    upstream.on("data", (d: Buffer) => {
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
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return proxy;
}
