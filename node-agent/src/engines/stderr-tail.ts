/**
 * The end of an engine's stderr, kept for the reason of a failed turn ("exited with code 1: …"). Bounded in
 * bytes whatever the engine prints, since a crashing engine can print megabytes of stack traces.
 */
export class StderrTail {
  private text = '';

  constructor(private readonly maxChars: number = 4096) {}

  push(chunk: Buffer): void {
    this.text = (this.text + chunk.toString('utf8')).slice(-this.maxChars);
  }

  /** The last `maxLines` non-empty lines, joined with " | " so they fit a one-line reason. */
  summary(maxLines = 8): string {
    return this.text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line.length > 0)
      .slice(-maxLines)
      .join(' | ');
  }
}
