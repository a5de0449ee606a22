/** What the status line shows. */
export interface StatusLineFacts {
  state: string;
  runningTasks: number;
  capacity: number;
  server: string;
}

function formatStatusLine({ state, runningTasks, capacity, server }: StatusLineFacts): string {
  return `${state} · ${runningTasks}/${capacity} tasks · server ${server}`;
}

/**
 * One line on a terminal, rewritten in place, for a person watching `foundation-agent start`; the
 * structured logs stay on stdout. Nothing is written when stderr is not a terminal (a service manager).
 */
export class StatusLine {
  private last = '';

  constructor(private readonly stream: NodeJS.WriteStream) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  show(facts: StatusLineFacts): void {
    if (!this.enabled) return;
    const line = formatStatusLine(facts);
    if (line === this.last) return;
    this.last = line;
    this.stream.write(`\r\x1b[2K${line}`);
  }

  /** Leaves the cursor on a fresh line, so what the shell prints next is not glued to the status. */
  end(): void {
    if (this.enabled && this.last !== '') this.stream.write('\n');
  }
}
