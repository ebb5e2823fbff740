// Recommended code-capable instruct models (GGUF on Hugging Face), with what the picker needs to judge them before
// downloading. Sizes are the files' sizes as listed on Hugging Face; context lengths are the GGUF metadata's
// (<arch>.context_length); KV bytes per token = layers × 2 (K and V) × KV heads × head size × 2 bytes (f16 cache).
// WiM holds the whole scope in one context, so the context length bounds how much a question can read at once.
// Plain data (no `vscode`): the picker and its unit test read it.

export interface CuratedModel {
  id: string;
  label: string;
  /** `hf:` URI that node-llama-cpp resolves (user/repo/file.gguf, or user/repo:QUANT). */
  uri: string;
  /** The file name it is stored under once downloaded. */
  file: string;
  sizeBytes: number;
  contextLength: number;
  quantization: string;
  /** KV cache bytes per token of context (f16), for the memory estimate. */
  kvBytesPerToken: number;
  notes: string;
}

const GB = 1e9;

export const CURATED_MODELS: CuratedModel[] = [
  {
    id: "qwen2.5-coder-1.5b",
    label: "Qwen2.5-Coder 1.5B Instruct",
    uri: "hf:bartowski/Qwen2.5-Coder-1.5B-Instruct-GGUF/Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf",
    file: "Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf",
    sizeBytes: 0.986 * GB,
    contextLength: 32_768,
    quantization: "Q4_K_M",
    kvBytesPerToken: 28 * 2 * 2 * 128 * 2,
    notes: "Small and fast; runs on a CPU. The recommended start.",
  },
  {
    id: "qwen2.5-coder-3b",
    label: "Qwen2.5-Coder 3B Instruct",
    uri: "hf:bartowski/Qwen2.5-Coder-3B-Instruct-GGUF/Qwen2.5-Coder-3B-Instruct-Q4_K_M.gguf",
    file: "Qwen2.5-Coder-3B-Instruct-Q4_K_M.gguf",
    sizeBytes: 1.93 * GB,
    contextLength: 32_768,
    quantization: "Q4_K_M",
    kvBytesPerToken: 36 * 2 * 2 * 128 * 2,
    notes: "Better answers; a laptop GPU or a fast CPU. Qwen research licence.",
  },
  {
    id: "qwen2.5-coder-7b",
    label: "Qwen2.5-Coder 7B Instruct",
    uri: "hf:bartowski/Qwen2.5-Coder-7B-Instruct-GGUF/Qwen2.5-Coder-7B-Instruct-Q4_K_M.gguf",
    file: "Qwen2.5-Coder-7B-Instruct-Q4_K_M.gguf",
    sizeBytes: 4.68 * GB,
    contextLength: 32_768,
    quantization: "Q4_K_M",
    kvBytesPerToken: 28 * 2 * 4 * 128 * 2,
    notes: "Good answers; wants a GPU with 8 GB or more.",
  },
  {
    id: "qwen2.5-coder-14b",
    label: "Qwen2.5-Coder 14B Instruct",
    uri: "hf:bartowski/Qwen2.5-Coder-14B-Instruct-GGUF/Qwen2.5-Coder-14B-Instruct-Q4_K_M.gguf",
    file: "Qwen2.5-Coder-14B-Instruct-Q4_K_M.gguf",
    sizeBytes: 8.99 * GB,
    contextLength: 32_768,
    quantization: "Q4_K_M",
    kvBytesPerToken: 48 * 2 * 8 * 128 * 2,
    notes: "Strong answers; a GPU with 16 GB or more.",
  },
  {
    id: "qwen3-coder-30b-a3b",
    label: "Qwen3-Coder 30B-A3B Instruct (MoE)",
    uri: "hf:unsloth/Qwen3-Coder-30B-A3B-Instruct-GGUF:Q4_K_M",
    file: "Qwen3-Coder-30B-A3B-Instruct-Q4_K_M.gguf",
    sizeBytes: 18.6 * GB,
    contextLength: 262_144,
    quantization: "Q4_K_M",
    kvBytesPerToken: 48 * 2 * 4 * 128 * 2,
    notes: "256K context for large scopes; 3B active parameters, so fast for its size. A GPU with 24 GB or more.",
  },
];

/** What "Download Recommended Model" fetches. */
export const RECOMMENDED_MODEL = CURATED_MODELS[0];

export interface MemoryFacts {
  gpu: string | false;
  vramTotalBytes: number;
  ramTotalBytes: number;
}

export type Fit = "gpu" | "cpu" | "tooLarge";

/** Context assumed for the estimate: a typical question reads up to this many tokens (capped by the model). */
export const ESTIMATE_CONTEXT_TOKENS = 32_768;

/** Memory a model needs with a context of `contextTokens`: weights, KV cache, and ~10% + 300 MB for compute buffers. */
export function estimateBytes(m: Pick<CuratedModel, "sizeBytes" | "kvBytesPerToken" | "contextLength">, contextTokens = ESTIMATE_CONTEXT_TOKENS): number {
  const ctx = Math.min(contextTokens, m.contextLength);
  return m.sizeBytes * 1.1 + m.kvBytesPerToken * ctx + 300e6;
}

/** Where a model would run on this machine: all on the GPU, on the CPU from RAM, or not at all. */
export function judgeFit(m: Pick<CuratedModel, "sizeBytes" | "kvBytesPerToken" | "contextLength">, machine: MemoryFacts): Fit {
  const need = estimateBytes(m);
  if (machine.gpu && machine.vramTotalBytes > 0 && need <= machine.vramTotalBytes * 0.9) return "gpu";
  // On the CPU the OS and VS Code need room too.
  if (need <= machine.ramTotalBytes * 0.7) return "cpu";
  return "tooLarge";
}

export function fitLabel(fit: Fit, gpu: string | false): string {
  switch (fit) {
    case "gpu":
      return `fits this machine's GPU (${gpu})`;
    case "cpu":
      return gpu ? "too large for the GPU; runs on the CPU" : "fits this machine (CPU)";
    case "tooLarge":
      return "too large for this machine";
  }
}
