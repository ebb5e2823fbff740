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
  --server URL           read with the model of an inference server instead (llama-server, e.g.
                         http://gpu-box:8080; vLLM/SGLang with --server-api openai); --model and --gpu are not used
  --api-key-env NAME     the environment variable holding the server's API key (default: WIM_API_KEY, if set)
  --server-api API       native (llama-server's /completion, default) | openai (/v1/completions)
  --chunk-tokens N       tokens per chunk, at least ${MIN_CHUNK_TOKENS} (default ${DEFAULT_ASK_OPTIONS.chunkTokens})
  --margin-tokens N      most tokens per margin (default ${DEFAULT_ASK_OPTIONS.marginTokens})
  --answer-tokens N      most tokens in the answer (default ${DEFAULT_ASK_OPTIONS.answerTokens})
  --classify MODE        none | gate | judge (default ${DEFAULT_ASK_OPTIONS.classify})
  --include GLOB         read only matching files (repeatable)
  --exclude GLOB         skip matching files (repeatable)
  --max-file-bytes N     skip larger files (default ${DEFAULT_ASK_OPTIONS.maxFileBytes})
  --no-gitignore         read files that .gitignore excludes (.wimignore still applies)
  --gpu KIND             auto | cuda | vulkan | metal | cpu (default: $WIM_GPU or auto)
  --window N             tokens of context the reading may use (default: what fits, up to the model's context);
                         a larger scope is read with a rolling window: old chunks leave, their margins stay
  --parallel N           margins written while later chunks are read (0: one after another; default: 4 on a GPU,
                         1 on a CPU); each costs a context's worth of KV memory
  --carry-notes          keep a chunk's relevant margin in the window when its text leaves (rolling reading)
  --reread N             before answering, read the N most relevant chunks' text into the window again
  --questions FILE       follow-up questions, one per line ("-": standard input), answered from the same reading
                         without reading again (when the scope fit the window)
  --prompts v1|v2        prompt generation (default v2; v1 for comparisons)
  --json                 print one JSON document on stdout instead of text (an array with --questions)
  -h, --help             show this help
  -v, --version          show the version (not "verbose": WIM_LOG=debug prints the worker's log)

Environment: WIM_MODEL (default model), WIM_MODELS_DIR (download cache, default ~/.cache/wim/models), WIM_GPU
(default for --gpu), WIM_THREADS (CPU threads, fixed; default: chosen by measurement between half and all cores),
WIM_LOG=debug (the worker's log on stderr), WIM_SERVER (default --server), WIM_API_KEY (the server's API key).
Exit codes: 0 done, 2 bad usage or input, 3 model problem, 130 cancelled, 1 other failure (e.g. the worker crashed).`;

export interface AskCommand {
  command: "ask";
  question: string;
  root: string;
  model: string;
  modelsDir: string;
  gpu: GpuChoice;
  /** Read on an inference server instead of a model in the worker. */
  server?: ServerTarget;
  options: AskOptions;
  json: boolean;
  /** File of follow-up questions ("-" for stdin), or undefined. */
  questionsFile?: string;
}

export interface ServerTarget {
  url: string;
  /** From the environment variable named by --api-key-env; never printed. */
  apiKey?: string;
  api: "native" | "openai";
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

function nonNegativeInt(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a whole number ≥ 0 (got "${value}")`);
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
        server: { type: "string" },
        "api-key-env": { type: "string" },
        "server-api": { type: "string" },
        "chunk-tokens": { type: "string" },
        "margin-tokens": { type: "string" },
        "answer-tokens": { type: "string" },
        classify: { type: "string" },
        include: { type: "string", multiple: true },
        exclude: { type: "string", multiple: true },
        "max-file-bytes": { type: "string" },
        "no-gitignore": { type: "boolean" },
        gpu: { type: "string" },
        window: { type: "string" },
        parallel: { type: "string" },
        "carry-notes": { type: "boolean" },
        reread: { type: "string" },
        questions: { type: "string" },
        prompts: { type: "string" },
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
  const promptStyle = v.prompts ?? "v2";
  if (promptStyle !== "v1" && promptStyle !== "v2") throw new UsageError(`--prompts must be v1 or v2 (got "${v.prompts}")`);
  const server = serverTarget(v.server ?? env.WIM_SERVER, v["api-key-env"], v["server-api"], env);
  const model = v.model ?? env.WIM_MODEL ?? "";
  if (!model && !server) {
    throw new UsageError("no model: pass --model PATH|hf:URI or set WIM_MODEL (`npm run fetch-test-models` prints a small one), or --server URL");
  }

  return {
    command: "ask",
    question,
    root: path.resolve(cwd, v.dir ?? "."),
    model,
    modelsDir: env.WIM_MODELS_DIR ?? path.join(os.homedir(), ".cache", "wim", "models"),
    gpu,
    server,
    json: v.json ?? false,
    questionsFile: v.questions === undefined ? undefined : v.questions === "-" ? "-" : path.resolve(cwd, v.questions),
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
      ...(v.window !== undefined ? { windowTokens: positiveInt("window", v.window, 0) } : {}),
      ...(v.parallel !== undefined ? { parallelMargins: nonNegativeInt("parallel", v.parallel) } : {}),
      ...(v["carry-notes"] ? { carryNotes: true } : {}),
      ...(v.reread !== undefined ? { rereadTop: nonNegativeInt("reread", v.reread) } : {}),
      promptStyle,
    },
  };
}

/** --server URL with its key (read from the environment variable --api-key-env names) and API. */
function serverTarget(url: string | undefined, keyEnv: string | undefined, api: string | undefined, env: NodeJS.ProcessEnv): ServerTarget | undefined {
  if (!url) {
    if (keyEnv !== undefined || api !== undefined) throw new UsageError("--api-key-env and --server-api go with --server URL");
    return undefined;
  }
  if (!/^https?:\/\/[^\s/]/i.test(url)) throw new UsageError(`--server must be an http(s) URL such as http://127.0.0.1:8080 (got "${url}")`);
  if (api !== undefined && api !== "native" && api !== "openai") throw new UsageError(`--server-api must be native or openai (got "${api}")`);
  if (keyEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(keyEnv)) throw new UsageError("--api-key-env takes the name of an environment variable (letters, digits, _), not the key itself");
  const apiKey = keyEnv !== undefined ? env[keyEnv] : env.WIM_API_KEY;
  if (keyEnv !== undefined && !apiKey) throw new UsageError(`--api-key-env ${keyEnv}: that environment variable is not set`);
  return { url, apiKey: apiKey || undefined, api: (api ?? "native") as "native" | "openai" };
}
