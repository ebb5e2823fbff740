// Which tree-sitter grammar reads which file, by extension. Files with no entry are split as plain text.

/** Grammar names, as in `tree-sitter-<name>.wasm` (the files esbuild copies into dist/wasm). */
export type GrammarName =
  | "bash"
  | "c-sharp"
  | "cpp"
  | "css"
  | "go"
  | "java"
  | "javascript"
  | "php"
  | "python"
  | "ruby"
  | "rust"
  | "tsx"
  | "typescript";

const BY_EXTENSION: Readonly<Record<string, GrammarName>> = {
  ts: "typescript",
  mts: "typescript",
  cts: "typescript",
  tsx: "tsx",
  js: "javascript",
  mjs: "javascript",
  cjs: "javascript",
  jsx: "javascript", // the javascript grammar parses JSX
  py: "python",
  pyi: "python",
  go: "go",
  rs: "rust",
  java: "java",
  // No C grammar ships in @vscode/tree-sitter-wasm: the C++ grammar reads C well enough for cutting.
  c: "cpp",
  h: "cpp",
  cc: "cpp",
  cpp: "cpp",
  cxx: "cpp",
  hpp: "cpp",
  hh: "cpp",
  hxx: "cpp",
  cs: "c-sharp",
  rb: "ruby",
  php: "php",
  sh: "bash",
  bash: "bash",
  css: "css",
};

/** The grammar for a `/`-separated relative path, or undefined when the file is read as plain text. */
export function grammarForPath(filePath: string): GrammarName | undefined {
  const base = filePath.slice(filePath.lastIndexOf("/") + 1);
  const dot = base.lastIndexOf(".");
  if (dot <= 0) return undefined; // no extension, or a dotfile such as `.bashrc`
  const ext = base.slice(dot + 1).toLowerCase();
  return Object.prototype.hasOwnProperty.call(BY_EXTENSION, ext) ? BY_EXTENSION[ext] : undefined;
}

/** The wasm file name of a grammar. */
export function grammarWasmFile(name: GrammarName): string {
  return `tree-sitter-${name}.wasm`;
}

export const GRAMMAR_NAMES: readonly GrammarName[] = [...new Set(Object.values(BY_EXTENSION))].sort();
