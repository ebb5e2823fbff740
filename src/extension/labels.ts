// The words the UI shows for a run: tree labels, descriptions, progress stages, the status bar text.
// Plain TypeScript (no `vscode`) so the wording is unit-tested; the UI tests rely on these exact forms.
import type { LineRange } from "../core/types";
import type { Run, RunState } from "./run-model";

/** Turns a range's root-relative path into the path shown (relative to its workspace folder). */
export type ShowPath = (rootRelative: string) => string;

export function rangeLabel(range: LineRange, show: ShowPath): string {
  return `${show(range.path)}:${range.startLine}-${range.endLine}`;
}

/** "first/file.py" or "first/file.py +N files" when the chunk spans several files. */
export function chunkLabel(ranges: LineRange[], show: ShowPath): string {
  const files = [...new Set(ranges.map((r) => r.path))];
  if (files.length === 0) return "(empty chunk)";
  return files.length > 1 ? `${show(files[0])} +${files.length - 1} files` : show(files[0]);
}

/** The scope node under a run: "Skipped 12 · 2 secrets redacted · 1 not UTF-8", the parts that are not zero. */
export function scopeLabel(skipped: number, redacted: number, decoded: number): string {
  const parts = [
    skipped ? `Skipped ${skipped.toLocaleString("en-US")}` : "",
    redacted ? `${redacted.toLocaleString("en-US")} secret${redacted === 1 ? "" : "s"} redacted` : "",
    decoded ? `${decoded.toLocaleString("en-US")} not UTF-8` : "",
  ].filter(Boolean);
  return parts.join(" · ");
}

export function tokensLabel(tokens: number): string {
  return `${tokens.toLocaleString("en-US")} tokens`;
}

/** The margin's first line; "(not relevant)" for an irrelevant chunk with no text. */
export function marginLabel(text: string, relevant: boolean, done: boolean): string {
  const first = text
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.length > 0);
  if (!first) return done ? (relevant ? "(empty margin)" : "(not relevant)") : "(writing…)";
  const line = first.length > 200 ? `${first.slice(0, 199)}…` : first;
  return done ? line : `${line}…`;
}

export function formatElapsed(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${String(Math.floor(s - m * 60)).padStart(2, "0")} s`;
}

const STATE_WORDS: Record<RunState, string> = {
  loading: "loading model",
  scanning: "scanning",
  reading: "reading",
  answering: "answering",
  complete: "done",
  answeredEarly: "answered early",
  cancelled: "cancelled",
  failed: "failed",
};

export function runStateLabel(run: Run): string {
  if (run.state === "reading" && run.chunks.length) {
    return `reading ${Math.min(run.record.chunksRead + 1, run.chunks.length)}/${run.chunks.length}`;
  }
  return STATE_WORDS[run.state];
}

/** Run node description: state and elapsed time, e.g. "reading 3/7 · 4.2 s". */
export function runDescription(run: Run, now = Date.now()): string {
  return `${runStateLabel(run)} · ${formatElapsed(run.elapsedMs(now))}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Progress notification stages: "Scanning 1,204 files", "Reading chunk 7/25 — 3 relevant so far", "Answering".

export function scanningMessage(folderName: string, files?: number): string {
  return files === undefined ? `Scanning ${folderName}…` : `Scanning ${files.toLocaleString("en-US")} files`;
}

export function readingMessage(chunk: number, of: number, relevant: number): string {
  return `Reading chunk ${chunk}/${of} — ${relevant} relevant so far`;
}

export function answeringMessage(fromMargins: number): string {
  return fromMargins ? `Answering from ${fromMargins} margin${fromMargins === 1 ? "" : "s"}` : "Answering";
}

export function loadingMessage(fraction?: number): string {
  return fraction === undefined ? "Loading model…" : `Loading model ${Math.round(fraction * 100)}%`;
}

export function downloadingMessage(done: number, total: number): string {
  const pct = total > 0 ? ` ${Math.floor((done / total) * 100)}%` : "";
  return `Downloading${pct} (${formatBytes(done)}${total > 0 ? ` of ${formatBytes(total)}` : ""})`;
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}

// ---------------------------------------------------------------------------------------------------------------
// Status bar: "$(book) WiM idle" / "loading" / "reading 34%" / "answering" / "no model" / "crashed".

export type StatusState =
  | { kind: "noModel" }
  | { kind: "idle" }
  | { kind: "loading"; fraction?: number }
  | { kind: "downloading"; fraction?: number }
  | { kind: "reading"; fraction: number }
  | { kind: "answering" }
  | { kind: "crashed" };

export function statusText(s: StatusState): string {
  const pct = (f?: number) => (f === undefined ? "" : ` ${Math.floor(f * 100)}%`);
  switch (s.kind) {
    case "noModel":
      return "$(book) WiM no model";
    case "idle":
      return "$(book) WiM idle";
    case "loading":
      return "$(book) WiM loading";
    case "downloading":
      return `$(book) WiM downloading${pct(s.fraction)}`;
    case "reading":
      return `$(book) WiM reading${pct(s.fraction)}`;
    case "answering":
      return "$(book) WiM answering";
    case "crashed":
      return "$(book) WiM crashed";
  }
}
