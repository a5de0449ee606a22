/** One replacement in a file: `oldText` became `newText` (an empty `oldText` for a new file). */
export interface TextEdit {
  oldText: string;
  newText: string;
}

/** A hunk as Claude's Edit results carry it (`structuredPatch`): lines prefixed with " ", "-" or "+". */
export interface PatchHunk {
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  lines: string[];
}

const CONTEXT_LINES = 3;

/**
 * A unified diff of edits given as old and new text, the way Claude and OpenCode describe their edits. The
 * fragments do not say where in the file they sit, so line numbers count from the fragment's start; the
 * changed lines and their context are exact.
 */
export function diffFromEdits(path: string, edits: TextEdit[], isNewFile = false): string {
  return formatPatch(path, edits.map(hunkOfEdit), isNewFile);
}

/** A unified diff from hunks the engine computed itself. */
export function formatPatch(path: string, hunks: PatchHunk[], isNewFile = false): string {
  const header = [`--- ${isNewFile ? '/dev/null' : `a/${path}`}`, `+++ b/${path}`];
  const body = hunks.flatMap((hunk) => [
    `@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@`,
    ...hunk.lines,
  ]);
  return `${[...header, ...body].join('\n')}\n`;
}

function hunkOfEdit(edit: TextEdit): PatchHunk {
  const oldLines = splitLines(edit.oldText);
  const newLines = splitLines(edit.newText);
  let prefix = 0;
  while (prefix < oldLines.length && prefix < newLines.length && oldLines[prefix] === newLines[prefix]) prefix += 1;
  let suffix = 0;
  while (
    suffix < oldLines.length - prefix &&
    suffix < newLines.length - prefix &&
    oldLines[oldLines.length - 1 - suffix] === newLines[newLines.length - 1 - suffix]
  ) {
    suffix += 1;
  }
  const before = oldLines.slice(Math.max(0, prefix - CONTEXT_LINES), prefix);
  const after = oldLines.slice(oldLines.length - suffix, oldLines.length - suffix + CONTEXT_LINES);
  const removed = oldLines.slice(prefix, oldLines.length - suffix);
  const added = newLines.slice(prefix, newLines.length - suffix);
  const start = prefix - before.length + 1;
  const oldCount = before.length + removed.length + after.length;
  const newCount = before.length + added.length + after.length;
  return {
    // A hunk with no old lines starts at the line before it, by the unified diff convention.
    oldStart: oldCount === 0 ? start - 1 : start,
    oldLines: oldCount,
    newStart: newCount === 0 ? start - 1 : start,
    newLines: newCount,
    lines: [
      ...before.map((line) => ` ${line}`),
      ...removed.map((line) => `-${line}`),
      ...added.map((line) => `+${line}`),
      ...after.map((line) => ` ${line}`),
    ],
  };
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
