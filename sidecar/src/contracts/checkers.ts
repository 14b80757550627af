import type { MessageContext, ParsedItem } from "../canonical/parse.js";

/** Checks one candidate event (canonical/parse.ts `createEventChecker`). */
export type EventChecker = (candidate: unknown, ctx: MessageContext) => ParsedItem;

/** Parses one message into events or rejections (canonical/parse.ts `createMessageParser`). */
export type MessageParser = (payload: Uint8Array | string, ctx: MessageContext) => ParsedItem[];
