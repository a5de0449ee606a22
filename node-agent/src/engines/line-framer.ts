/** One line of an engine's stdout, without its line break. */
export interface FramedLine {
  text: string;
  /** The line was longer than the framer keeps: `text` is only its beginning. */
  truncated: boolean;
}

/**
 * The longest line parsed as JSON. Engines print lines of 10 MB and more (a whole file in a tool result), so
 * the bound is generous; past it the rest of the line is dropped, not buffered, and the line is kept raw.
 */
const MAX_FRAMED_LINE_BYTES = 32 * 1024 * 1024;

/**
 * Splits a byte stream into `\n`-separated lines (a trailing `\r` is dropped). Chunks are joined only when a
 * line ends, so a long line costs one copy, and bytes past `maxLineBytes` are never kept.
 */
export class LineFramer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private overflowed = false;

  constructor(private readonly maxLineBytes: number = MAX_FRAMED_LINE_BYTES) {}

  /** Feeds a chunk; returns the lines it completed. */
  push(chunk: Buffer): FramedLine[] {
    const lines: FramedLine[] = [];
    let start = 0;
    for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
      this.keep(chunk.subarray(start, newline));
      lines.push(this.takeLine());
      start = newline + 1;
    }
    if (start < chunk.length) this.keep(chunk.subarray(start));
    return lines;
  }

  /** The last line, when the stream ended without a line break after it. */
  end(): FramedLine | undefined {
    if (this.pendingBytes === 0 && !this.overflowed) return undefined;
    return this.takeLine();
  }

  private keep(bytes: Buffer): void {
    const room = this.maxLineBytes - this.pendingBytes;
    if (bytes.length > room) this.overflowed = true;
    const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
    if (kept.length === 0) return;
    // Copy: the chunk's memory is reused by the stream once this handler returns.
    this.pending.push(Buffer.from(kept));
    this.pendingBytes += kept.length;
  }

  private takeLine(): FramedLine {
    let text = Buffer.concat(this.pending, this.pendingBytes).toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const line = { text, truncated: this.overflowed };
    this.pending = [];
    this.pendingBytes = 0;
    this.overflowed = false;
    return line;
  }
}
