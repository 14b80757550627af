import { pino, type Logger } from "pino";

export type { Logger };

export interface LoggerOptions {
  /** @default "info" */
  level?: string;
  /** Where JSON lines go. @default process.stdout (fd 1) */
  destination?: NodeJS.WritableStream | number;
}

/**
 * Structured JSON logs (pino). Anything that may carry a secret is redacted by path, so a
 * config object, an HTTP header set or an Odoo request logged by mistake still leaks nothing.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? 1;
  return pino(
    {
      level: options.level ?? "info",
      base: { service: "plant-bridge" },
      redact: {
        paths: [
          "apiKey",
          "*.apiKey",
          "password",
          "*.password",
          "adminToken",
          "*.adminToken",
          "token",
          "*.token",
          "secrets",
          "*.secrets",
          "authorization",
          "*.authorization",
          "headers.authorization",
          "*.headers.authorization",
        ],
        censor: "[redacted]",
      },
    },
    typeof destination === "number"
      ? pino.destination({ fd: destination, sync: false })
      : destination,
  );
}
