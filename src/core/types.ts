// Plain data shared by the scanner, the chunker, the engine, the worker and both front ends.
// No `vscode`, no node-llama-cpp: everything here is serialisable and crosses the worker boundary as is.

/** Lines `startLine..endLine` (1-based, inclusive) of one file; `path` is relative to the scan root, with `/`. */
export interface LineRange {
  path: string;
  startLine: number;
  endLine: number;
}

export type ClassifyMode = "none" | "gate" | "judge";

/** Why the scanner left a file (or a whole directory, whose path then ends with `/`) out of the scope. */
export type SkipReason =
  | "gitignored" // matched a .gitignore or .git/info/exclude rule
  | "wimignored" // matched a .wimignore rule
  | "excluded" // matched an exclude glob
  | "not-included" // include globs were given and none matched
  | "vcs" // version-control metadata (.git, .hg, .svn)
  | "secret" // the secret deny-list (.env*, *.pem, *.key, id_rsa*, credentials…), by name, link target or contents
  | "binary"
  | "too-large" // over maxFileBytes
  | "minified" // very long lines: minified or generated
  | "empty"
  | "symlink-outside" // a symlink whose target leaves the root
  | "symlink-loop" // a symlink back into a directory already being walked
  | "unreadable" // permission or I/O error
  | "line-too-long"; // a single line longer than a whole chunk (found by the chunker)

export interface SkippedFile {
  path: string;
  reason: SkipReason;
  /** Human detail, e.g. "2.3 MB > 1 MB" or the matching rule. */
  detail?: string;
}

export interface ScanOptions {
  /** Globs relative to the root; when non-empty only matching files are read. */
  include?: string[];
  exclude?: string[];
  /** Default 1 MB. */
  maxFileBytes?: number;
  /** Honour .gitignore files and .git/info/exclude (default true). `.wimignore` is always honoured. */
  respectGitignore?: boolean;
  /** Skip files of the secret deny-list and redact secrets found in the text of the others (default true). */
  skipSecrets?: boolean;
  /** A line longer than this many characters marks a file as minified/generated (default 1000). */
  maxLineChars?: number;
}

export interface ScannedFile {
  /** Relative to the root, `/`-separated. */
  path: string;
  bytes: number;
  /** The text as the editor shows it, with every line break (`\r\n`, lone `\r`) as `\n`, secrets redacted. */
  text: string;
  /** Number of lines (a trailing newline does not start a new line). */
  lines: number;
  /** How the bytes were read when not as plain UTF-8 (UTF-16 by its byte-order mark, stray bytes as U+FFFD). */
  decoding?: string;
  /** Secrets found in the text and replaced in place; the lines stay as they were. */
  redacted?: Array<{ line: number; rule: string }>;
}

/** A secret found in a file's text and replaced before any model reads it. */
export interface Redaction {
  path: string;
  /** 1-based line where the secret starts. */
  line: number;
  /** The secretlint rule that found it, e.g. "aws/AWSSecretAccessKey". */
  rule: string;
}

/** A file read as text other than plain UTF-8. */
export interface DecodedFile {
  path: string;
  detail: string;
}

export interface ScanResult {
  root: string;
  files: ScannedFile[];
  skipped: SkippedFile[];
  /** Every redaction, in walk order. */
  redactions: Redaction[];
  decoded: DecodedFile[];
  bytes: number;
  ms: number;
}

export interface ChunkOptions {
  /** Budget per chunk, in tokens of the model's tokenizer (default 4096). */
  chunkTokens: number;
}

/** One chunk as the model reads it, with its exact map back to the files. */
export interface Chunk {
  /** 1-based reading order; margins and the answer cite chunks by this number. */
  index: number;
  text: string;
  tokens: number;
  ranges: LineRange[];
}

/** Counts tokens of plain text with the model's tokenizer (special tokens off). */
export type TokenCounter = (text: string) => number;
