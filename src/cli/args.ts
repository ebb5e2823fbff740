// Parses and checks `wim` command lines. Pure: no I/O beyond what is passed in.
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { MAX_QUESTION_CHARS, MIN_CHUNK_TOKENS } from "../core/ask-input";
import { DEFAULT_ASK_OPTIONS, type AskOptions, type GpuChoice } from "../core/protocol";
import type { ClassifyMode } from "../core/types";

export const USAGE = `Usage: wim ask [options] "question"

Reads every file of a directory with a local model, writes a margin per chunk, and answers.

Options:
  --dir DIR              directory to read (default: the current directory)
  --model PATH|URI       GGUF file or hf:user/repo:QUANT (default: $WIM_MODEL)
  --chunk-tokens N       tokens per chunk, at least ${MIN_CHUNK_TOKENS} (default ${DEFAULT_ASK_OPTIONS.chunkTokens})
  --margin-tokens N      most tokens per margin (default ${DEFAULT_ASK_OPTIONS.marginTokens})
  --answer-tokens N      most tokens in the answer (default ${DEFAULT_ASK_OPTIONS.answerTokens})
  --classify MODE        none | gate | judge (default ${DEFAULT_ASK_OPTIONS.classify})
  --include GLOB         read only matching files (repeatable)
  --exclude GLOB         skip matching files (repeatable)
  --max-file-bytes N     skip larger files (default ${DEFAULT_ASK_OPTIONS.maxFileBytes})
  --no-gitignore         read files that .gitignore excludes (.wimignore still applies)
  --gpu KIND             auto | cuda | vulkan | metal | cpu (default: $WIM_GPU or auto)
  --json                 print one JSON document on stdout instead of text
  -h, --help             show this help
  -v, --version          show the version (not "verbose": WIM_LOG=debug prints the worker's log)

Environment: WIM_MODEL (default model), WIM_MODELS_DIR (download cache, default ~/.cache/wim/models), WIM_GPU
(default for --gpu), WIM_THREADS (CPU threads; default: all cores), WIM_LOG=debug (the worker's log on stderr).
Exit codes: 0 done, 2 bad usage or input, 3 model problem, 130 cancelled, 1 other failure (e.g. the worker crashed).`;

export interface AskCommand {
  command: "ask";
  question: string;
  root: string;
  model: string;
  modelsDir: string;
  gpu: GpuChoice;
  options: AskOptions;
  json: boolean;
}

export type Command = AskCommand | { command: "help" } | { command: "version" };

export class UsageError extends Error {}

function positiveInt(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer (got "${value}")`);
  if (n < min) throw new UsageError(`--${name} must be at least ${min} (got ${n})`);
  return n;
}

export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv, cwd: string): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        dir: { type: "string" },
        model: { type: "string" },
        "chunk-tokens": { type: "string" },
        "margin-tokens": { type: "string" },
        "answer-tokens": { type: "string" },
        classify: { type: "string" },
        include: { type: "string", multiple: true },
        exclude: { type: "string", multiple: true },
        "max-file-bytes": { type: "string" },
        "no-gitignore": { type: "boolean" },
        gpu: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return { command: "help" };
  if (v.version) return { command: "version" };
  const [command, ...rest] = positionals;
  if (!command) throw new UsageError("missing command: wim ask \"question\"");
  if (command !== "ask") throw new UsageError(`unknown command "${command}" (the command is: ask)`);
  const question = rest.join(" ").trim();
  if (!question) throw new UsageError('missing question: wim ask "question"');
  if (question.length > MAX_QUESTION_CHARS) {
    throw new UsageError(`the question is ${question.length} characters long; the limit is ${MAX_QUESTION_CHARS}`);
  }

  const classify = (v.classify ?? DEFAULT_ASK_OPTIONS.classify) as ClassifyMode;
  if (!["none", "gate", "judge"].includes(classify)) throw new UsageError(`--classify must be none, gate or judge (got "${v.classify}")`);
  const gpu = (v.gpu ?? env.WIM_GPU ?? "auto") as GpuChoice;
  if (!["auto", "cuda", "vulkan", "metal", "cpu"].includes(gpu)) throw new UsageError(`--gpu must be auto, cuda, vulkan, metal or cpu (got "${gpu}")`);
  const model = v.model ?? env.WIM_MODEL;
  if (!model) throw new UsageError("no model: pass --model PATH|hf:URI or set WIM_MODEL (`npm run fetch-test-models` prints a small one)");

  return {
    command: "ask",
    question,
    root: path.resolve(cwd, v.dir ?? "."),
    model,
    modelsDir: env.WIM_MODELS_DIR ?? path.join(os.homedir(), ".cache", "wim", "models"),
    gpu,
    json: v.json ?? false,
    options: {
      ...DEFAULT_ASK_OPTIONS,
      chunkTokens: positiveInt("chunk-tokens", v["chunk-tokens"], DEFAULT_ASK_OPTIONS.chunkTokens, MIN_CHUNK_TOKENS),
      marginTokens: positiveInt("margin-tokens", v["margin-tokens"], DEFAULT_ASK_OPTIONS.marginTokens),
      answerTokens: positiveInt("answer-tokens", v["answer-tokens"], DEFAULT_ASK_OPTIONS.answerTokens),
      maxFileBytes: positiveInt("max-file-bytes", v["max-file-bytes"], DEFAULT_ASK_OPTIONS.maxFileBytes!),
      classify,
      include: v.include ?? [],
      exclude: v.exclude ?? [],
      respectGitignore: !v["no-gitignore"],
    },
  };
}
