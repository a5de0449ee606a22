import { arrayAt, recordAt, stringAt } from './json-fields.js';

/**
 * The text of a tool's result as MCP-style engines give it: a string, or content blocks whose text blocks
 * are joined. Anything else is kept as its JSON.
 */
export function contentText(content: unknown): string {
  if (content === undefined || content === null) return '';
  if (typeof content === 'string') return content;
  const texts = arrayAt(content)
    .map((block) => stringAt(recordAt(block)?.['text']))
    .filter((text): text is string => text !== undefined);
  return texts.length > 0 ? texts.join('\n') : JSON.stringify(content);
}
