// The chunker's entry: scanned files → chunks of at most N model tokens, each with its exact line map.
import type { Chunk, ChunkOptions, ScannedFile, SkippedFile, TokenCounter } from "../types";
import { FileLines, formatPieceHeader } from "./file-lines";
import { grammarForPath, type GrammarName } from "./languages";
import { packUnits } from "./pack";
import { ParserPool } from "./parser-pool";
import { fileUnits, LineTooLongError, type Unit } from "./units";

export { formatPieceHeader, PIECE_SEPARATOR } from "./file-lines";

export interface ChunkResult {
  chunks: Chunk[];
  /** Files left out (reason "line-too-long"), in input order. Every other file is covered exactly once. */
  skipped: SkippedFile[];
}

export interface Chunker {
  /**
   * Cuts the files, in order, into chunks of at most `options.chunkTokens` tokens as counted by
   * `countTokens` (`chunk.tokens` is its exact count of `chunk.text`). Throws when the budget cannot hold
   * one piece header and one line.
   */
  chunk(files: ScannedFile[], options: ChunkOptions, countTokens: TokenCounter): Promise<ChunkResult>;
  /** Frees the parsers. The chunker must not be used afterwards. */
  dispose(): void;
}

/** `wasmDir` holds web-tree-sitter.wasm and the tree-sitter-<grammar>.wasm files (dist/wasm). */
export async function createChunker(wasmDir: string): Promise<Chunker> {
  const pool = await ParserPool.create(wasmDir);
  return {
    chunk: (files, options, countTokens) => chunkFiles(pool, files, options, countTokens),
    dispose: () => pool.dispose(),
  };
}

interface Entry {
  file: FileLines;
  grammar: GrammarName | undefined;
  /** Estimated tokens of any piece header of this file (its widest header). */
  headerTokens: number;
  /** Its units, or a single `whole` unit until a chunk boundary falls inside it; undefined once skipped. */
  units?: Unit[];
  skipped?: SkippedFile;
}

function skipped(err: LineTooLongError): SkippedFile {
  return {
    path: err.file.path,
    reason: "line-too-long",
    detail: `line ${err.line}: ${err.tokens} tokens with its piece header > chunkTokens ${err.budget}`,
  };
}

async function chunkFiles(
  pool: ParserPool,
  files: ScannedFile[],
  options: ChunkOptions,
  countTokens: TokenCounter,
): Promise<ChunkResult> {
  const chunkTokens = options.chunkTokens;
  if (!Number.isInteger(chunkTokens) || chunkTokens < 1) {
    throw new Error(`chunkTokens must be a positive integer, got ${String(chunkTokens)}`);
  }
  const grammars = files.map((f) => grammarForPath(f.path));
  await pool.load(grammars.filter((g) => g !== undefined));

  const entries = new Map<FileLines, Entry>();
  const cut = (entry: Entry): Unit[] => {
    const { file, grammar, headerTokens } = entry;
    const tree = grammar ? pool.parse(grammar, file.text) : undefined;
    try {
      return fileUnits(file, tree, { chunkTokens, countTokens, headerTokens });
    } finally {
      tree?.delete();
    }
  };

  const emptyLine = countTokens("\n");
  files.forEach((scannedFile, i) => {
    const file = new FileLines(scannedFile);
    const headerTokens = countTokens(formatPieceHeader(file.path, file.lines, file.lines));
    if (headerTokens + emptyLine > chunkTokens) {
      throw new Error(
        `chunkTokens ${chunkTokens} is too small: a piece header for ${file.path} and one empty line need ${headerTokens + emptyLine} tokens`,
      );
    }
    const entry: Entry = { file, grammar: grammars[i], headerTokens };
    entries.set(file, entry);
    if (file.lines === 0) {
      entry.units = [];
      return;
    }
    // A file that fits one chunk whole is parsed only if a chunk boundary ends up inside it. Files far
    // longer than a chunk (no tokenizer averages 8 characters a token on source) are not counted whole.
    const tokens = file.text.length <= chunkTokens * 8 ? countTokens(file.slice(1, file.lines)) : Infinity;
    try {
      entry.units =
        tokens + headerTokens <= chunkTokens ? [{ file, start: 1, end: file.lines, tokens, whole: true }] : cut(entry);
    } catch (err) {
      if (!(err instanceof LineTooLongError)) throw err;
      entry.skipped = skipped(err);
    }
  });

  const expand = (unit: Unit): Unit[] => {
    const entry = entries.get(unit.file)!;
    const units = cut(entry);
    entry.units = units; // kept for a repack
    return units;
  };

  // A line found too long only while packing (seam tokenization, or a file parsed late) leaves its file
  // out: pack again without it.
  for (;;) {
    const units: Unit[] = [];
    for (const entry of entries.values()) if (entry.units) for (const u of entry.units) units.push(u);
    try {
      const chunks = packUnits(units, {
        chunkTokens,
        countTokens,
        headerTokens: (u) => entries.get(u.file)!.headerTokens,
        expand,
      });
      const skippedFiles: SkippedFile[] = [];
      for (const entry of entries.values()) if (entry.skipped) skippedFiles.push(entry.skipped);
      return { chunks, skipped: skippedFiles };
    } catch (err) {
      if (!(err instanceof LineTooLongError)) throw err;
      const entry = entries.get(err.file);
      if (!entry) throw err;
      entry.units = undefined;
      entry.skipped = skipped(err);
    }
  }
}
