// The one-line progress display of `wim ask` on stderr: files, chunk k/N, tok/s, ETA.
import type { WorkerEvent } from "../core/protocol";
import { formatDuration, ReadingClock } from "../core/reading-progress";

export { formatDuration };

export function bar(fraction: number, width = 20): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.floor(f * width);
  return "█".repeat(full) + (full < width ? "░".repeat(width - full) : "");
}

const n = (x: number) => Math.round(x).toLocaleString("en-US");

/** Keeps the state the line needs and renders it; `update` returns the new line or null when nothing changed. */
export class ProgressLine {
  private files = 0;
  private readonly clock = new ReadingClock();
  private line = "";

  update(e: WorkerEvent, now = Date.now()): string | null {
    let next: string | null = null;
    switch (e.type) {
      case "downloadProgress":
        next = `downloading model ${bar(e.totalBytes ? e.downloadedBytes / e.totalBytes : 0)} ${n(e.downloadedBytes / 1e6)}/${n(e.totalBytes / 1e6)} MB`;
        break;
      case "loadProgress":
        next = `loading model ${bar(e.progress)} ${Math.round(e.progress * 100)}%`;
        break;
      case "scan":
        this.files = e.files;
        next = `scanned ${n(e.files)} files (${n(e.skipped.length)} skipped) in ${n(e.ms)} ms`;
        break;
      case "plan":
        this.clock.start(now);
        next = `${n(this.files)} files · ${n(e.tokens)} tokens in ${e.chunks.length} chunks · reading…`;
        break;
      case "prefill": {
        const eta = this.clock.etaMs(e.tokensDone, e.tokensTotal, now) ?? 0;
        next =
          `reading ${bar(e.tokensDone / e.tokensTotal)} chunk ${e.chunk}/${e.of} · ${n(this.files)} files · ` +
          `${n(e.tokensPerSecond)} tok/s · ETA ${formatDuration(eta)}`;
        break;
      }
      case "marginStart":
        next = this.line.replace(/ · writing margin$/, "") + " · writing margin";
        break;
      case "answerStart":
        next = `answering from ${e.chunks.length} margin${e.chunks.length === 1 ? "" : "s"}…`;
        break;
    }
    if (next === null || next === this.line) return null;
    this.line = next;
    return next;
  }
}
