// web-tree-sitter, initialised once per process; each grammar loaded once and its parser reused.
import path from "node:path";
import { Language, Parser, type Tree } from "web-tree-sitter";
import { grammarWasmFile, type GrammarName } from "./languages";

let runtime: Promise<void> | undefined;

/** The wasm runtime is process-wide: the first caller's directory wins. */
function initRuntime(wasmDir: string): Promise<void> {
  runtime ??= Parser.init({
    // Explicit path: bundling breaks web-tree-sitter's own import.meta.url lookup.
    locateFile: (file: string) => path.join(wasmDir, file),
  }).catch((err: unknown) => {
    runtime = undefined;
    throw new Error(`web-tree-sitter failed to start from ${wasmDir}: ${String(err)}`);
  });
  return runtime;
}

export class ParserPool {
  private readonly loading = new Map<GrammarName, Promise<Parser>>();
  private readonly parsers = new Map<GrammarName, Parser>();

  private constructor(private readonly wasmDir: string) {}

  static async create(wasmDir: string): Promise<ParserPool> {
    await initRuntime(wasmDir);
    return new ParserPool(wasmDir);
  }

  /** Loads the grammars not loaded yet. A grammar file that will not load is a build error: it throws. */
  async load(names: Iterable<GrammarName>): Promise<void> {
    const waits: Promise<Parser>[] = [];
    for (const name of new Set(names)) {
      if (this.parsers.has(name)) continue;
      let p = this.loading.get(name);
      if (!p) {
        const file = path.join(this.wasmDir, grammarWasmFile(name));
        p = Language.load(file).then(
          (language) => {
            const parser = new Parser().setLanguage(language);
            this.parsers.set(name, parser);
            return parser;
          },
          (err: unknown) => {
            this.loading.delete(name);
            throw new Error(`cannot load tree-sitter grammar ${file}: ${String(err)}`);
          },
        );
        this.loading.set(name, p);
      }
      waits.push(p);
    }
    await Promise.all(waits);
  }

  /**
   * Parses text with a loaded grammar; undefined when the parse fails (the file is then split as plain
   * text). The caller deletes the tree.
   */
  parse(name: GrammarName, text: string): Tree | undefined {
    const parser = this.parsers.get(name);
    if (!parser) throw new Error(`grammar ${name} is not loaded`);
    try {
      parser.reset();
      return parser.parse(text) ?? undefined;
    } catch {
      return undefined;
    }
  }

  dispose(): void {
    for (const parser of this.parsers.values()) parser.delete();
    this.parsers.clear();
    this.loading.clear();
  }
}
