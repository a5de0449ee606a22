import type { JsonValue } from '@foundation/connectors';
import { ExpressionError, type ExpressionLocation } from './expression-error.js';
import { Expression } from './expression.js';
import type { RunContext } from './run-context.js';
import { formatPath, type SpecPath } from './spec-problem.js';

type TemplateNode =
  | { kind: 'literal'; value: JsonValue }
  /** A string that is exactly one `{{ expr }}`: the value keeps its type. */
  | { kind: 'value'; expression: Expression }
  /** Text with `{{ expr }}` inside: every value becomes text. */
  | { kind: 'text'; parts: (string | Expression)[] }
  | { kind: 'array'; items: TemplateNode[] }
  | { kind: 'object'; entries: [string, TemplateNode][] };

/** Reports an expression of a template that does not parse, at the path of its string. */
export type TemplateErrorHandler = (error: ExpressionError, path: SpecPath) => void;

/** A string is a template when it contains `{{`; any other string is taken as it is. */
export function isTemplateString(value: unknown): value is string {
  return typeof value === 'string' && value.includes('{{');
}

/**
 * A JSON value (params, a prompt) whose strings may hold `{{ expr }}`, parsed once. A string that is
 * exactly one `{{ expr }}` (whitespace around it allowed) renders as the expression's value with its type
 * (number, object…; nothing becomes null); in any other string each `{{ expr }}` is replaced by its value
 * as text: strings as they are, other values JSON-encoded, nothing as "". Objects and arrays are rendered
 * member by member. An expression ends at the first `}}` outside its strings and braces, so
 * `{{ {'a': {'b': 1}} }}` works; there is no escape for a literal `{{`.
 */
export class Template {
  readonly #root: TemplateNode;

  private constructor(
    root: TemplateNode,
    /** Every expression in it, each located at its string. */
    readonly expressions: readonly Expression[],
    /** Where its template strings are, relative to the template's root. */
    readonly templatedPaths: readonly SpecPath[],
  ) {
    this.#root = root;
  }

  /**
   * Parses the templates in `value`, which sits at `path` in the spec. Without `onError` the first
   * expression that does not parse is thrown; with it every one is reported and left out.
   */
  static compile(value: JsonValue, path: SpecPath, nodeId?: string, onError?: TemplateErrorHandler): Template {
    const expressions: Expression[] = [];
    const templatedPaths: SpecPath[] = [];
    const report: TemplateErrorHandler =
      onError ??
      ((error) => {
        throw error;
      });
    const build = (item: JsonValue, at: SpecPath): TemplateNode => {
      if (Array.isArray(item)) {
        const items = item.map((child, index) => build(child, [...at, index]));
        return items.every((child) => child.kind === 'literal') ? { kind: 'literal', value: item } : { kind: 'array', items };
      }
      if (item !== null && typeof item === 'object') {
        const entries = Object.entries(item).map(([key, child]): [string, TemplateNode] => [key, build(child, [...at, key])]);
        return entries.every(([, child]) => child.kind === 'literal') ? { kind: 'literal', value: item } : { kind: 'object', entries };
      }
      if (!isTemplateString(item)) return { kind: 'literal', value: item };
      templatedPaths.push(at.slice(path.length));
      try {
        const parts = parseTemplateString(item, { path: formatPath(at), ...(nodeId === undefined ? {} : { nodeId }) });
        expressions.push(...parts.filter((part) => part instanceof Expression));
        const meaningful = parts.filter((part) => typeof part !== 'string' || part.trim() !== '');
        const [only] = meaningful;
        return meaningful.length === 1 && only instanceof Expression ? { kind: 'value', expression: only } : { kind: 'text', parts };
      } catch (error) {
        report(ExpressionError.from(error, { path: formatPath(at) }), at);
        return { kind: 'literal', value: item };
      }
    };
    return new Template(build(value, path), expressions, templatedPaths);
  }

  /** A fresh JSON value: literal parts are copied, so a caller may change the result freely. */
  render(context: RunContext): Promise<JsonValue> {
    return renderNode(this.#root, context);
  }
}

/** Renders `value` (parsed on the spot) or an already parsed template in `context`. */
export function renderTemplate(value: JsonValue | Template, context: RunContext): Promise<JsonValue> {
  const template = value instanceof Template ? value : Template.compile(value, ['template']);
  return template.render(context);
}

async function renderNode(node: TemplateNode, context: RunContext): Promise<JsonValue> {
  switch (node.kind) {
    case 'literal':
      return structuredClone(node.value);
    case 'value':
      return (await node.expression.evaluate(context)) ?? null;
    case 'text': {
      let text = '';
      for (const part of node.parts) text += typeof part === 'string' ? part : asText(await part.evaluate(context));
      return text;
    }
    case 'array': {
      const items: JsonValue[] = [];
      for (const item of node.items) items.push(await renderNode(item, context));
      return items;
    }
    case 'object': {
      const entries: [string, JsonValue][] = [];
      for (const [key, item] of node.entries) entries.push([key, await renderNode(item, context)]);
      // fromEntries defines own properties, so a "__proto__" key stays data.
      return Object.fromEntries(entries);
    }
  }
}

function asText(value: JsonValue | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Splits `text` into literal text and parsed `{{ }}` expressions; throws `ExpressionError` for a bad one. */
function parseTemplateString(text: string, location: ExpressionLocation): (string | Expression)[] {
  const parts: (string | Expression)[] = [];
  let from = 0;
  for (let open = text.indexOf('{{'); open !== -1; open = text.indexOf('{{', from)) {
    if (open > from) parts.push(text.slice(from, open));
    const close = closingBraces(text, open + 2);
    if (close === -1) throw new ExpressionError(location, 'S0000', `has a {{ at position ${open} without a closing }}`);
    const source = text.slice(open + 2, close);
    try {
      parts.push(Expression.compile(source, location));
    } catch (error) {
      const detail = error instanceof ExpressionError ? error.detail : String(error);
      throw new ExpressionError(location, error instanceof ExpressionError ? error.code : 'S0000', `{{${source}}}: ${detail}`);
    }
    from = close + 2;
  }
  if (from < text.length) parts.push(text.slice(from));
  return parts;
}

/** Where the `}}` closing an expression starting at `from` is: outside strings, comments and braces. */
function closingBraces(text: string, from: number): number {
  let depth = 0;
  for (let index = from; index < text.length; index += 1) {
    const char = text[index];
    if (char === '"' || char === "'" || char === '`') {
      index = endOfQuoted(text, index, char);
    } else if (text.startsWith('/*', index)) {
      const end = text.indexOf('*/', index + 2);
      index = end === -1 ? text.length : end + 1;
    } else if (char === '{') {
      depth += 1;
    } else if (char === '}') {
      if (depth === 0 && text[index + 1] === '}') return index;
      depth = Math.max(0, depth - 1);
    }
  }
  return -1;
}

/** The index of the quote closing the string opened at `start` (backslash escapes, except in backtick names). */
function endOfQuoted(text: string, start: number, quote: string): number {
  for (let index = start + 1; index < text.length; index += 1) {
    if (text[index] === '\\' && quote !== '`') index += 1;
    else if (text[index] === quote) return index;
  }
  return text.length;
}
