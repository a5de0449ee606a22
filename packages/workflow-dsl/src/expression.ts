import type { JsonValue } from '@foundation/connectors';
import jsonata from 'jsonata';
import { ExpressionError, type ExpressionLocation } from './expression-error.js';
import type { RunContext } from './run-context.js';

/**
 * JSONata's own guards against runaway expressions, checked on every evaluation step: wall-clock time,
 * evaluation depth (non-terminating recursion) and the length of any sequence built. A step that exceeds
 * one fails with D1012, D1011 or D2015. Built-in functions run to completion between steps, which the
 * range operator's own cap (10 million items) keeps bounded.
 */
export const EXPRESSION_LIMITS = { timeoutMs: 1_000, maxDepth: 500, maxSequenceLength: 1_000_000 } as const;

const OPTIONS = {
  timeout: EXPRESSION_LIMITS.timeoutMs,
  stack: EXPRESSION_LIMITS.maxDepth,
  sequence: EXPRESSION_LIMITS.maxSequenceLength,
};

/** JSONata's truthiness (`$boolean`): "", 0, empty arrays and objects, nothing and functions are false. */
const TO_BOOLEAN = jsonata('$boolean($value)');

/**
 * A parsed JSONata expression and where it sits. Parsing happens once, here; evaluation can run any number
 * of times and concurrently (each evaluation has its own frame). Nothing is ever evaluated as JavaScript.
 */
export class Expression {
  readonly #compiled: jsonata.Expression;

  private constructor(
    readonly source: string,
    readonly location: ExpressionLocation,
    compiled: jsonata.Expression,
  ) {
    this.#compiled = compiled;
  }

  /** Parses `source`; a syntax error becomes an `ExpressionError` naming the position. */
  static compile(source: string, location: ExpressionLocation): Expression {
    if (source.trim() === '') throw new ExpressionError(location, 'S0000', 'is empty; write a JSONata expression');
    try {
      return new Expression(source, location, jsonata(source, OPTIONS));
    } catch (error) {
      throw ExpressionError.from(error, location);
    }
  }

  /** The parse tree, for finding what the expression reads. */
  ast(): jsonata.ExprNode {
    return this.#compiled.ast();
  }

  /** The result as plain JSON, or undefined when the expression selects nothing. */
  async evaluate(context: RunContext): Promise<JsonValue | undefined> {
    return toJson(await this.#evaluateRaw(context), this.location);
  }

  /** Whether the result is true by JSONata's rules (`$boolean`). */
  async isTrue(context: RunContext): Promise<boolean> {
    return (await TO_BOOLEAN.evaluate(null, { value: await this.#evaluateRaw(context) })) === true;
  }

  async #evaluateRaw(context: RunContext): Promise<unknown> {
    try {
      return await this.#compiled.evaluate(context);
    } catch (error) {
      throw ExpressionError.from(error, this.location);
    }
  }
}

/** Parses and evaluates one expression; nothing selected reads as `null`. */
export async function evaluateExpression(source: string, context: RunContext): Promise<JsonValue> {
  return (await Expression.compile(source, { path: 'expression' }).evaluate(context)) ?? null;
}

/**
 * JSONata results carry internal flags (`sequence`, `keepSingleton`) on arrays and null prototypes on
 * objects; copying into plain arrays and objects makes them data that `JSON.stringify` round-trips. As in
 * `JSON.stringify`, nothing inside an array becomes null and an object drops keys that hold nothing.
 */
function toJson(value: unknown, location: ExpressionLocation): JsonValue | undefined {
  switch (typeof value) {
    case 'undefined':
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'object':
      if (value === null) return null;
      if (Array.isArray(value)) return value.map((item) => toJson(item, location) ?? null);
      if (!isJsonataFunction(value)) {
        // fromEntries defines own properties, so a "__proto__" key stays data.
        return Object.fromEntries(
          Object.entries(value).flatMap(([key, item]) => {
            const json = toJson(item, location);
            return json === undefined ? [] : [[key, json] as const];
          }),
        );
      }
  }
  throw new ExpressionError(location, 'NOT_JSON', 'evaluates to a function, which is not a JSON value');
}

function isJsonataFunction(value: object): boolean {
  return '_jsonata_lambda' in value || '_jsonata_function' in value;
}
