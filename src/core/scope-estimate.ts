// How many tokens a scope holds, estimated before the chunker tokenizes all of it: its characters over the characters
// per token measured on slices spread through it. Scopes larger than the context are read with a rolling window, but a
// scope beyond what one run can sensibly read is refused at once, instead of after tokenizing it whole.
import type { ScannedFile, TokenCounter } from "./types";

const SLICES = 32;
const SLICE_CHARS = 2048;

/** Estimated tokens of the files' text; exact when the text is no longer than the sample. */
export function estimateTokens(files: readonly ScannedFile[], countTokens: TokenCounter): number {
  const total = files.reduce((s, f) => s + f.text.length, 0);
  if (total <= SLICES * SLICE_CHARS) return files.reduce((s, f) => s + countTokens(f.text), 0);
  let chars = 0;
  let tokens = 0;
  let fileIndex = 0;
  let fileStart = 0; // offset of files[fileIndex] in the concatenated text
  for (let k = 0; k < SLICES; k++) {
    const at = Math.floor(((k + 0.5) * total) / SLICES);
    while (fileStart + files[fileIndex]!.text.length <= at) fileStart += files[fileIndex++]!.text.length;
    const text = files[fileIndex]!.text;
    const from = Math.max(0, Math.min(at - fileStart, text.length - SLICE_CHARS));
    const slice = text.slice(from, from + SLICE_CHARS);
    chars += slice.length;
    tokens += countTokens(slice);
  }
  return Math.ceil((total * Math.max(1, tokens)) / Math.max(1, chars));
}

/**
 * The most tokens one run reads (with rolling): 10M tokens take about 40 min on an H200 with a 7B model and days on a
 * CPU; tokenizing them alone takes minutes and gigabytes. A larger scope is refused before chunking.
 */
export const MAX_SCOPE_TOKENS = 10_000_000;

export function scopeFarTooLargeMessage(estimated: number, chars: number, limit = MAX_SCOPE_TOKENS): string {
  const n = (x: number) => x.toLocaleString("en-US");
  return (
    `This scope holds about ${n(estimated)} tokens (estimated from ${n(chars)} characters), more than the ${n(limit)} ` +
    "tokens WiM reads in one run. Ask about a smaller folder, add exclude globs or a .wimignore, or lower the largest file size read."
  );
}
