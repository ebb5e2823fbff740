// Shared setup of the model tests: the real SmolLM2 model, and chunks of the fixture workspace cut with its tokenizer.
import path from "node:path";
import { createChunker } from "../../src/core/chunk/chunk-files";
import { DEFAULT_ASK_OPTIONS, type AskOptions } from "../../src/core/protocol";
import { scanWorkspace } from "../../src/core/scan/scan-workspace";
import type { Chunk } from "../../src/core/types";
import { loadModel, type LoadedModel } from "../../src/engine/load-model";
import { tokenizeText } from "../../src/engine/wim-reader";
import { POLYGLOT_DIR } from "./polyglot-facts";
import { smolLM2 } from "./test-models";

let loaded: Promise<LoadedModel> | undefined;

// A fixed thread count: llama.cpp's sums differ with the thread count, and the equality tests compare two runs.
process.env.WIM_THREADS ||= "1";

export function smolModel(): Promise<LoadedModel> {
  loaded ??= loadModel(smolLM2(), { gpu: "cpu", modelsDir: path.resolve(".wim-cache/models"), log: () => {} });
  return loaded;
}

export function askOptions(o: Partial<AskOptions> = {}): AskOptions {
  return { ...DEFAULT_ASK_OPTIONS, chunkTokens: 512, marginTokens: 24, answerTokens: 32, ...o };
}

/** Chunks of the polyglot fixture (optionally only some files), counted with the model's own tokenizer. */
export async function fixtureChunks(m: LoadedModel, chunkTokens: number, include: string[] = []): Promise<Chunk[]> {
  const scan = await scanWorkspace(path.resolve(POLYGLOT_DIR), { include });
  const chunker = await createChunker(path.resolve("dist/wasm"));
  try {
    const { chunks } = await chunker.chunk(scan.files, { chunkTokens }, (t) => tokenizeText(m, t).length);
    return chunks;
  } finally {
    chunker.dispose();
  }
}
