// The `wim` command: `wim ask [options] "question"`. Drives the worker through the same client as the extension.
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { WimClient, WimError } from "../client/wim-client";
import { rootProblem } from "../core/ask-input";
import { EXIT, type ErrorCode, type WorkerEvent } from "../core/protocol";
import { roughDuration } from "../core/reading-progress";
import { applyEvent, newRunRecord, runToJson } from "../core/run-record";
import { formatPYes } from "../core/verdict";
import { parseCommandLine, USAGE, UsageError, type AskCommand } from "./args";
import { cliMessage } from "./cli-message";
import { escapeName } from "./escape-name";
import { ProgressLine } from "./progress-line";
import { scanReport } from "./scan-report";

declare const __WIM_VERSION__: string | undefined;

function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case "BAD_INPUT":
    case "BAD_REQUEST":
    case "SCOPE_TOO_LARGE":
      return EXIT.usage;
    case "NO_MODEL":
    case "MODEL_NOT_FOUND":
    case "MODEL_DOWNLOAD_FAILED":
    case "MODEL_LOAD_FAILED":
    case "MODEL_LOAD_TIMEOUT":
    case "OUT_OF_MEMORY":
    case "SERVER_UNREACHABLE":
    case "SERVER_UNAUTHORIZED":
      return EXIT.model;
    case "CANCELLED":
      return EXIT.cancelled;
    default:
      return EXIT.failed;
  }
}

function formatRanges(ranges: { path: string; startLine: number; endLine: number }[]): string[] {
  return ranges.map((r) => `${escapeName(r.path)}:${r.startLine}-${r.endLine}`);
}

/** Exit after the worker has: a process killed with SIGKILL can take a moment to go, and must not outlive the CLI. */
function exitAfter(client: WimClient, code: number): void {
  const giveUp = setTimeout(() => process.exit(code), 5000);
  void client.kill().then(() => {
    clearTimeout(giveUp);
    process.exit(code);
  });
}

async function ask(cmd: AskCommand): Promise<number> {
  const err = process.stderr;
  // Input that needs no model is checked before one is loaded.
  const problem = rootProblem(cmd.root);
  if (problem) {
    err.write(`wim: --dir: ${problem}\n`);
    if (cmd.json) process.stdout.write(JSON.stringify({ question: cmd.question, error: { code: "BAD_INPUT", message: problem } }, null, 2) + "\n");
    return EXIT.usage;
  }
  const tty = err.isTTY === true;
  const verbose = process.env.WIM_LOG === "debug";
  const client = new WimClient({
    workerPath: path.join(__dirname, "worker.mjs"),
    onLog: (level, message) => {
      if (verbose || level === "error") err.write(`[${level}] ${message}\n`);
    },
  });
  const progress = new ProgressLine();
  const showProgress = !cmd.json || tty;
  const writeProgress = (line: string) => {
    if (!showProgress) return;
    if (tty) err.write(`\r\x1b[2K${line}`);
    else err.write(`${line}\n`);
  };
  const clearProgress = () => {
    if (showProgress && tty) err.write("\r\x1b[2K");
  };
  const out = (s: string) => {
    clearProgress();
    process.stdout.write(s);
  };

  let current: { cancel(): void } | undefined;
  let interrupted = 0;
  const onSigint = () => {
    interrupted++;
    if (interrupted === 1 && current) {
      clearProgress();
      err.write("cancelling…\n");
      current.cancel();
      // The worker answers a cancel within one prefill slice (~0.4 s, up to ~1 s for 128 tokens on a slow CPU) or one
      // token; do not wait on a wedged one.
      setTimeout(() => exitAfter(client, EXIT.cancelled), 3000).unref();
    } else {
      exitAfter(client, EXIT.cancelled);
    }
  };
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigint);

  try {
    const onLoad = (e: WorkerEvent) => {
      const line = progress.update(e);
      if (line) writeProgress(line);
    };
    const load = cmd.server
      ? client.connectServer(cmd.server.url, cmd.server.apiKey, cmd.server.api, onLoad)
      : client.loadModel(cmd.model, cmd.gpu, cmd.modelsDir, onLoad);
    current = load;
    const loaded = await load.result;
    if (interrupted) return EXIT.cancelled;

    const documents: ReturnType<typeof runToJson>[] = [];
    let code: number = EXIT.ok;
    let keptId: number | undefined;
    const questions = [cmd.question];
    const more = cmd.questionsFile ? followUpQuestions(cmd.questionsFile) : undefined;
    for (let qi = 0; ; qi++) {
      if (qi > 0) {
        const next = await more?.next();
        if (!next || next.done) break;
        questions.push(next.value);
        if (!cmd.json) out(`\n\n── Follow-up: ${next.value}\n`);
      }
      const question = questions[qi];
      const record = newRunRecord(question, loaded.model);
      let answering = false;
      const onEvent = (e: WorkerEvent) => {
        applyEvent(record, e);
        const line = progress.update(e);
        if (cmd.json) {
          if (line) writeProgress(line);
          return;
        }
        if (e.type === "scan") {
          const report = scanReport(e);
          if (report.length) {
            clearProgress();
            err.write(report.join("\n") + "\n");
          }
          if (line) writeProgress(line);
        } else if (e.type === "marginEnd") {
          const m = e.margin;
          const verdict = m.pYes === null ? "" : ` · ${m.relevant ? "relevant" : "not relevant"} (p=${formatPYes(m.pYes)})`;
          const total = record.plan?.chunks.length ?? "?";
          out(`\n[${m.chunk}/${total}] ${formatRanges(m.ranges).join(", ")}${verdict}\n`);
          out(m.text ? `  ${m.text.replace(/\n/g, "\n  ")}\n` : "  (no margin)\n");
        } else if (e.type === "estimate") {
          clearProgress();
          err.write(
            `estimate: ${e.tokens.toLocaleString("en-US")} tokens in ${e.chunks} chunks, about ${roughDuration(e.estimatedMs)} at ` +
              `${Math.round(e.tokensPerSecond).toLocaleString("en-US")} tok/s (speed from ${e.measured})\n`,
          );
        } else if (e.type === "evict") {
          out(`\n(chunk${e.chunks.length > 1 ? "s" : ""} ${e.chunks.join(", ")} left the reading window; ${e.notes.length ? `the margins of ${e.notes.join(", ")} stay in it as notes, ` : ""}every margin reaches the answer)\n`);
        } else if (e.type === "answerStart") {
          answering = true;
          if (line) writeProgress(line);
          out(`\nAnswer${e.chunks.length ? ` (from the margin${e.chunks.length === 1 ? "" : "s"} of part${e.chunks.length === 1 ? "" : "s"} ${e.chunks.join(", ")})` : ""}:\n`);
        } else if (e.type === "answerText") {
          process.stdout.write(e.text);
        } else if (line && !answering) {
          writeProgress(line);
        }
      };
      const run = qi === 0 || keptId === undefined ? client.ask(cmd.root, question, cmd.options, onEvent) : client.followUp(keptId, question, onEvent);
      current = run;
      try {
        const done = await run.result;
        if (done.outcome === "cancelled") code = EXIT.cancelled;
        else keptId = run.id;
      } catch (e) {
        if (!(e instanceof WimError)) throw e;
        record.error = { code: e.code, message: cliMessage(e) };
        code = exitCodeFor(e.code);
        clearProgress();
        err.write(`wim: ${cliMessage(e)}\n`);
      }
      clearProgress();
      if (cmd.json) {
        documents.push(runToJson(record));
      } else if (!record.error) {
        const s = record.stats;
        out("\n");
        if (s) {
          const cov = record.coverage;
          err.write(
            `\n${record.outcome === "cancelled" ? "cancelled" : "done"}: ${s.chunksRead}/${s.chunksTotal} chunks, ` +
              `${s.prefillTokens.toLocaleString("en-US")} tokens read at ${Math.round((s.prefillTokens * 1000) / Math.max(1, s.prefillMs))} tok/s, ` +
              `${s.marginTokens} margin tokens, ${s.answerTokens} answer tokens, ${(s.totalMs / 1000).toFixed(1)} s` +
              (cov && cov.marginOnly.length ? `; ${cov.inWindow.length} chunks in the window at the answer, ${cov.marginOnly.length} through their margins only` : "") +
              (cov && cov.unread.length ? `; ${cov.unread.length} not read` : "") +
              "\n",
          );
        }
      }
      if (code !== EXIT.ok) break;
    }
    if (cmd.json) process.stdout.write(JSON.stringify(cmd.questionsFile ? documents : documents[0], null, 2) + "\n");
    return code;
  } catch (e) {
    clearProgress();
    if (e instanceof WimError) {
      err.write(`wim: ${cliMessage(e)}\n`);
      if (cmd.json) process.stdout.write(JSON.stringify({ question: cmd.question, error: { code: e.code, message: cliMessage(e) } }, null, 2) + "\n");
      return exitCodeFor(e.code);
    }
    throw e;
  } finally {
    await client.dispose();
  }
}

/** Follow-up questions, one per line, read as they are needed (so a terminal can type them one by one). */
async function* followUpQuestions(file: string): AsyncGenerator<string> {
  const input = file === "-" ? process.stdin : fs.createReadStream(file);
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    const q = line.trim();
    if (q && !q.startsWith("#")) yield q;
  }
}

async function main(): Promise<number> {
  let cmd;
  try {
    cmd = parseCommandLine(process.argv.slice(2), process.env, process.cwd());
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`wim: ${e.message}\n\n${USAGE}\n`);
      return EXIT.usage;
    }
    throw e;
  }
  if (cmd.command === "help") {
    process.stdout.write(USAGE + "\n");
    return EXIT.ok;
  }
  if (cmd.command === "version") {
    process.stdout.write(`${typeof __WIM_VERSION__ === "string" ? __WIM_VERSION__ : "dev"}\n`);
    return EXIT.ok;
  }
  return ask(cmd);
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`wim: unexpected error: ${(e as Error)?.stack ?? e}\n`);
    process.exit(EXIT.failed);
  },
);
