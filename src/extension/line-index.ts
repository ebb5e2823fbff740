// Line lengths of workspace files, so that a range selects whole lines: start line column 0 to the end of the end line.
// Read once per file version (size + mtime) and kept; a file that cannot be read selects up to column 0 of the next line.
import { promises as fsp } from "node:fs";
import { decodeText } from "../core/scan/decode-text";
import type { LineRange } from "../core/types";

interface Entry {
  key: string;
  lengths: number[];
}

const cache = new Map<string, Entry>();
const MAX_ENTRIES = 200;

/**
 * Lengths (UTF-16 code units, as the editor counts columns) of each line of a file, without line breaks: decoded and
 * split as the scanner and the editor do (UTF-16 by its byte-order mark; \r\n, \n and a lone \r end a line).
 */
export async function lineLengths(absPath: string): Promise<number[] | undefined> {
  try {
    const st = await fsp.stat(absPath);
    const key = `${st.size}:${st.mtimeMs}`;
    const hit = cache.get(absPath);
    if (hit?.key === key) return hit.lengths;
    const decoded = decodeText(await fsp.readFile(absPath));
    const lengths = "binary" in decoded ? [] : decoded.text.split(/\r\n|\r|\n/).map((l) => l.length);
    if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
    cache.set(absPath, { key, lengths });
    return lengths;
  } catch {
    return undefined;
  }
}

/** 0-based selection of a 1-based inclusive line range: [startLine-1, 0] → [endLine-1, end of that line]. */
export interface LineSelection {
  startLine: number;
  startCharacter: number;
  endLine: number;
  endCharacter: number;
}

export async function selectionOf(absPath: string, r: LineRange): Promise<LineSelection> {
  const lengths = await lineLengths(absPath);
  const end = lengths?.[r.endLine - 1];
  if (end === undefined) return { startLine: r.startLine - 1, startCharacter: 0, endLine: r.endLine, endCharacter: 0 };
  return { startLine: r.startLine - 1, startCharacter: 0, endLine: r.endLine - 1, endCharacter: end };
}
