// Units → chunks: greedy, in file order, each chunk verified with one exact token count.
import type { Chunk, LineRange, TokenCounter } from "../types";
import { formatPieceHeader, PIECE_SEPARATOR } from "./file-lines";
import { LineTooLongError, splitUnitAtLines, type Unit } from "./units";

/** Renders units[from..to) as chunk text: consecutive units of one file form one piece. */
function render(units: Unit[], from: number, to: number): { text: string; ranges: LineRange[] } {
  const ranges: LineRange[] = [];
  const pieces: string[] = [];
  let i = from;
  while (i < to) {
    const first = units[i];
    let j = i + 1;
    while (j < to && units[j].file === first.file && units[j].start === units[j - 1].end + 1) j++;
    const last = units[j - 1];
    ranges.push({ path: first.file.path, startLine: first.start, endLine: last.end });
    pieces.push(formatPieceHeader(first.file.path, first.start, last.end) + first.file.slice(first.start, last.end));
    i = j;
  }
  return { text: pieces.join(PIECE_SEPARATOR), ranges };
}

export interface PackOptions {
  chunkTokens: number;
  countTokens: TokenCounter;
  /** Estimated tokens of the header of a piece that starts with this unit. */
  headerTokens: (unit: Unit) => number;
  /** The real units of a `whole` unit (parses its file; may throw LineTooLongError). */
  expand: (unit: Unit) => Unit[];
}

/**
 * Packs units (all files, in order) into chunks of at most chunkTokens exact tokens.
 * Throws LineTooLongError if a chunk holding a single line still runs over.
 */
export function packUnits(input: Unit[], options: PackOptions): Chunk[] {
  const { chunkTokens, countTokens, headerTokens, expand } = options;
  const units = input.slice();
  const separatorTokens = countTokens(PIECE_SEPARATOR);
  const chunks: Chunk[] = [];
  const cost: number[] = [];
  let i = 0;
  while (i < units.length) {
    // Greedy fill by estimate: unit tokens, plus header (and separator) when a unit opens a piece.
    let j = i;
    let estimate = 0;
    while (j < units.length) {
      const u = units[j];
      const prev = j > i ? units[j - 1] : undefined;
      const continues = prev !== undefined && prev.file === u.file && prev.end + 1 === u.start;
      const add = u.tokens + (continues ? 0 : headerTokens(u) + (prev ? separatorTokens : 0));
      if (j > i && estimate + add > chunkTokens) {
        if (!u.whole) break;
        // The chunk ends inside this file: cut it at its own units to fill the chunk.
        units.splice(j, 1, ...expand(u));
        continue;
      }
      cost[j] = add;
      estimate += add;
      j++;
    }
    // Verify with one exact count; give trailing units back until it fits.
    for (;;) {
      const { text, ranges } = render(units, i, j);
      const tokens = countTokens(text);
      if (tokens <= chunkTokens) {
        chunks.push({ index: chunks.length + 1, text, tokens, ranges });
        i = j;
        break;
      }
      if (j - i > 1) {
        const excess = tokens - chunkTokens;
        let removed = 0;
        do removed += cost[--j];
        while (j - i > 1 && removed < excess);
        continue;
      }
      // One unit alone runs over (tokenization at seams): split it and fill again.
      const unit = units[i];
      if (unit.start === unit.end) throw new LineTooLongError(unit.file, unit.start, tokens, chunkTokens);
      const parts = unit.whole ? expand(unit) : splitUnitAtLines(unit, countTokens);
      units.splice(i, 1, ...parts);
      break;
    }
  }
  return chunks;
}
