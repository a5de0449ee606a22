import { rawLine, warning } from './events.js';
import { isRecord } from './json-fields.js';
import type { FramedLine } from './line-framer.js';
import type { EventSink, TurnProtocol } from './turn-protocol.js';

/**
 * Hands one stdout line to the engine's protocol, after the rules every engine shares: blank lines are
 * skipped, text that is not JSON (debug output, banners) is a Warning, and a line too long to parse, a broken
 * JSON line or a line the protocol throws on is kept as a RawEvent. Nothing here throws.
 */
export function dispatchStdoutLine(line: FramedLine, protocol: TurnProtocol, events: EventSink): void {
  if (line.truncated) {
    events.emit(rawLine(line.text, true));
    return;
  }
  const text = line.text.trim();
  if (text === '') return;
  if (!text.startsWith('{')) {
    events.emit(warning(`the engine printed a line that is not JSON: ${text}`));
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    events.emit(rawLine(text));
    return;
  }
  if (!isRecord(value)) {
    events.emit(rawLine(text));
    return;
  }
  try {
    protocol.onLine(value, text, events);
  } catch (error) {
    events.emit(warning(`could not map an engine line: ${error instanceof Error ? error.message : String(error)}`));
    events.emit(rawLine(text));
  }
}
