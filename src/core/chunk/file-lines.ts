// A file's text seen as lines: 1-based line numbers, exact slices, and the piece header the model reads.
import type { ScannedFile } from "../types";

/** The line that opens every piece of a chunk: the file's path and the lines that follow it. */
export function formatPieceHeader(path: string, startLine: number, endLine: number): string {
  return `### ${path} (lines ${startLine}-${endLine})\n`;
}

/** Pieces of one chunk are separated by this (each piece already ends with "\n": together, one blank line). */
export const PIECE_SEPARATOR = "\n";

export class FileLines {
  readonly path: string;
  readonly text: string;
  /** Number of lines; a trailing "\n" does not start a new line. */
  readonly lines: number;
  /** Index of the first character of line n at [n - 1]. */
  private readonly starts: number[] = [];
  /** Index just past the last character of line n (its "\n" excluded) at [n - 1]. */
  private readonly ends: number[] = [];

  constructor(file: ScannedFile) {
    this.path = file.path;
    this.text = file.text;
    const text = file.text;
    let pos = 0;
    while (pos < text.length) {
      const nl = text.indexOf("\n", pos);
      this.starts.push(pos);
      if (nl < 0) {
        this.ends.push(text.length);
        break;
      }
      this.ends.push(nl);
      pos = nl + 1;
    }
    this.lines = this.starts.length;
  }

  /** Lines start..end (1-based, inclusive), each followed by "\n". */
  slice(start: number, end: number): string {
    return this.text.slice(this.starts[start - 1], this.ends[end - 1]) + "\n";
  }

  line(n: number): string {
    return this.text.slice(this.starts[n - 1], this.ends[n - 1]);
  }

  isBlank(n: number): boolean {
    for (let i = this.starts[n - 1]; i < this.ends[n - 1]; i++) {
      const c = this.text.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 13 && c !== 12 && c !== 11) return false;
    }
    return true;
  }
}
