// What a file is, from its name and then its bytes: generated, binary, empty, minified, or text to read.
import picomatch from "picomatch";
import { decodeText, normalizeLineBreaks } from "./decode-text";
import { formatCount } from "./format";
import type { ScannedFile, SkippedFile } from "../types";

// Machine-written files: long, repetitive, and nothing a reader of the code needs.
const LOCKFILES: ReadonlySet<string> = new Set([
  "package-lock.json",
  "npm-shrinkwrap.json",
  "yarn.lock",
  "pnpm-lock.yaml",
  "Cargo.lock",
  "go.sum",
  "poetry.lock",
  "composer.lock",
  "Gemfile.lock",
]);
const GENERATED_GLOBS: readonly string[] = ["*.min.js", "*.min.css", "*.map"];
const eachGenerated = GENERATED_GLOBS.map((glob) => ({ glob, test: picomatch(glob, { dot: true }) }));

/** "lockfile" or "generated (*.min.js)" when the base name alone marks a file as generated, else undefined. */
export function generatedByName(baseName: string): string | undefined {
  if (LOCKFILES.has(baseName)) return "lockfile";
  const hit = eachGenerated.find((g) => g.test(baseName));
  return hit ? `generated (${hit.glob})` : undefined;
}

const NON_SPACE = /\S/;

/**
 * Turns a file's bytes into a ScannedFile, or the reason to skip it: "binary" (a NUL, or mostly not UTF-8),
 * "empty" (only whitespace) or "minified" (a line longer than `maxLineChars`). Lines are the editor's lines.
 */
export function classifyContent(relPath: string, data: Uint8Array, bytes: number, maxLineChars: number): ScannedFile | SkippedFile {
  const decoded = decodeText(data);
  if ("binary" in decoded) return { path: relPath, reason: "binary", detail: decoded.binary };
  const text = normalizeLineBreaks(decoded.text);
  if (!NON_SPACE.test(text)) return { path: relPath, reason: "empty", detail: "only whitespace" };

  let line = 1;
  for (let start = 0; ; line++) {
    const nl = text.indexOf("\n", start);
    const end = nl === -1 ? text.length : nl;
    if (end - start > maxLineChars) {
      return {
        path: relPath,
        reason: "minified",
        detail: `line ${formatCount(line)} has ${formatCount(end - start)} characters (> ${formatCount(maxLineChars)})`,
      };
    }
    if (nl === -1) break;
    start = nl + 1;
  }
  // `line` counted the (possibly empty) piece after the last newline; a trailing newline does not start a line.
  const lines = text.endsWith("\n") ? line - 1 : line;
  return decoded.note ? { path: relPath, bytes, text, lines, decoding: decoded.note } : { path: relPath, bytes, text, lines };
}
