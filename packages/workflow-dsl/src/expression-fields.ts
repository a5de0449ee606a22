import type { JsonValue } from '@foundation/connectors';
import type { ExpressionError } from './expression-error.js';
import { Expression } from './expression.js';
import type { FieldReader } from './spec-fields.js';
import { formatPath } from './spec-problem.js';
import { Template } from './template.js';

/** A required JSONata expression field, parsed; a syntax error is reported with its position. */
export function readExpression(reader: FieldReader, key: string, nodeId?: string): Expression | undefined {
  const source = reader.string(key, { required: true });
  if (source === undefined) return undefined;
  try {
    return Expression.compile(source, { path: formatPath(reader.at(key)), ...(nodeId === undefined ? {} : { nodeId }) });
  } catch (error) {
    reader.report(key, `is not a valid expression: ${(error as ExpressionError).detail}`);
    return undefined;
  }
}

/** A field whose strings may hold `{{ expr }}`, parsed; every bad expression is reported at its string. */
export function readTemplate(reader: FieldReader, key: string, value: JsonValue, nodeId: string): Template {
  return Template.compile(value, reader.at(key), nodeId, (error, at) => {
    reader.problems.add(at, `is not a valid template: ${error.detail}`);
  });
}
