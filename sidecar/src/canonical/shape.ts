/**
 * Hostile structures are refused before any recursive work (ISSUE "poison-message immunity"):
 * `JSON.parse`, `JSON.stringify`, schema validation and JSONata all recurse over a document, and
 * a 256 KiB message can hold 100,000 levels of `[`. This scan reads the text once, iteratively,
 * and answers whether its shape stays inside the limits. It does not validate JSON: text that is
 * not JSON passes through to the parser, which reports it.
 */

export interface ShapeLimits {
  /** Deepest nesting of arrays and objects. @default 64 */
  maxDepth: number;
  /** Most values in the document (keys, strings, numbers, literals, arrays, objects). @default 100000 */
  maxValues: number;
  /**
   * Longest string (key or value), in UTF-16 code units of its JSON text: as long as the largest
   * message (legacy rows carry long notes as data). @default 262144
   */
  maxStringLength: number;
  /** Longest number literal, in characters. @default 64 */
  maxNumberLength: number;
}

export const DEFAULT_SHAPE_LIMITS: ShapeLimits = {
  maxDepth: 64,
  maxValues: 100_000,
  maxStringLength: 256 * 1024,
  maxNumberLength: 64,
};

/** What is wrong with a shape: `too_complex` (beyond a limit) or `schema` (a number JSON cannot carry). */
export interface ShapeProblem {
  code: "too_complex" | "schema";
  message: string;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN = new Set([0x5b, 0x7b]); // [ {
const CLOSE = new Set([0x5d, 0x7d]); // ] }
const NUMBER_START = new Set([0x2d, ...Array.from({ length: 10 }, (_, i) => 0x30 + i)]);
const NUMBER_PART = new Set([...NUMBER_START, 0x2b, 0x2e, 0x45, 0x65]); // + . E e
const LITERAL_START = new Set([0x74, 0x66, 0x6e]); // t f n

/** Scans JSON text once (no recursion); undefined when it stays inside `limits`. */
export function checkJsonShape(
  text: string,
  limits: ShapeLimits = DEFAULT_SHAPE_LIMITS,
): ShapeProblem | undefined {
  let depth = 0;
  let values = 0;
  const n = text.length;
  const tooMany = () =>
    ++values > limits.maxValues
      ? tooComplex(`more than ${limits.maxValues} values in one document`)
      : undefined;
  for (let i = 0; i < n;) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === BACKSLASH) j += 2;
        else if (d === QUOTE) break;
        else j++;
      }
      const length = j - i - 1;
      if (length > limits.maxStringLength)
        return tooComplex(`a string of ${length} characters (at most ${limits.maxStringLength})`);
      i = j + 1;
      const problem = tooMany();
      if (problem) return problem;
    } else if (OPEN.has(c)) {
      if (++depth > limits.maxDepth)
        return tooComplex(`nesting deeper than ${limits.maxDepth} levels`);
      const problem = tooMany();
      if (problem) return problem;
      i++;
    } else if (CLOSE.has(c)) {
      depth--;
      i++;
    } else if (NUMBER_START.has(c)) {
      let j = i + 1;
      while (j < n && NUMBER_PART.has(text.charCodeAt(j))) j++;
      const literal = text.slice(i, Math.min(j, i + limits.maxNumberLength + 1));
      if (j - i > limits.maxNumberLength)
        return tooComplex(`a number of ${j - i} characters (at most ${limits.maxNumberLength})`);
      if (Math.abs(Number(literal)) === Infinity)
        return { code: "schema", message: `number ${literal} is beyond what JSON numbers carry` };
      i = j;
      const problem = tooMany();
      if (problem) return problem;
    } else {
      if (LITERAL_START.has(c)) {
        const problem = tooMany();
        if (problem) return problem;
        i += 4; // true / null / fals(e): the rest of the word is skipped as other text
      } else i++;
    }
  }
  return undefined;
}

function tooComplex(message: string): ShapeProblem {
  return { code: "too_complex", message };
}

/**
 * The same limits over a value already parsed (GraphQL inputs, mapping outputs, legacy rows):
 * walked with an explicit stack, never recursively, and stopped at the first limit.
 */
export function checkValueShape(
  value: unknown,
  limits: ShapeLimits = DEFAULT_SHAPE_LIMITS,
): ShapeProblem | undefined {
  const stack: Array<[unknown, number]> = [[value, 1]];
  let values = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (++values > limits.maxValues)
      return tooComplex(`more than ${limits.maxValues} values in one document`);
    if (typeof v === "string") {
      if (v.length > limits.maxStringLength)
        return tooComplex(`a string of ${v.length} characters (at most ${limits.maxStringLength})`);
    } else if (v !== null && typeof v === "object") {
      if (depth > limits.maxDepth)
        return tooComplex(`nesting deeper than ${limits.maxDepth} levels`);
      if (Array.isArray(v)) for (const item of v) stack.push([item, depth + 1]);
      else
        for (const [key, item] of Object.entries(v)) {
          if (key.length > limits.maxStringLength)
            return tooComplex(
              `a key of ${key.length} characters (at most ${limits.maxStringLength})`,
            );
          stack.push([item, depth + 1]);
        }
    }
  }
  return undefined;
}
