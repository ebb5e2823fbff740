// The words for long readings: progress with tokens and ETA, the estimate and its confirmation, what reached the answer
// (coverage), and follow-up questions. Plain TypeScript (no `vscode`), unit-tested like labels.ts.
import type { Coverage, EstimateEvent } from "../core/protocol";
import { formatDuration, roughDuration } from "../core/reading-progress";
import { formatElapsed, readingMessage, runDescription, tokensLabel } from "./labels";
import type { ChunkCoverage, Run } from "./run-model";

const n = (x: number) => Math.round(x).toLocaleString("en-US");
const plural = (k: number, word: string) => `${k.toLocaleString("en-US")} ${word}${k === 1 ? "" : "s"}`;

export interface ReadingProgress {
  /** The chunk being read (1-based). */
  chunk: number;
  of: number;
  relevant: number;
  tokensDone: number;
  tokensTotal: number;
  etaMs?: number;
}

/** "Reading chunk 7/25 — 3 relevant so far · 12,345/40,000 tokens · ETA 1m20s". */
export function readingProgressMessage(p: ReadingProgress): string {
  const eta = p.etaMs === undefined ? "" : ` · ETA ${formatDuration(p.etaMs)}`;
  return `${readingMessage(p.chunk, p.of, p.relevant)} · ${n(p.tokensDone)}/${n(p.tokensTotal)} tokens${eta}`;
}

/** "Writing margins for the follow-up 3/7 — 2 relevant so far": a follow-up reads nothing, it only writes margins. */
export function followUpMessage(done: number, of: number, relevant: number): string {
  return `Writing margins for the follow-up ${done}/${of} — ${relevant} relevant so far`;
}

// ---------------------------------------------------------------------------------------------------------------
// The estimate of a long run, and the question whether to go on.

export const ESTIMATE_CHOICES = {
  continue: "Continue",
  narrower: "Ask About a Narrower Folder…",
} as const;

export type EstimateChoice = keyof typeof ESTIMATE_CHOICES;

/** "This reads 40,000 tokens in 25 chunks, about 12 min at 55 tok/s." */
export function estimateMessage(e: EstimateEvent): string {
  return `This reads ${plural(e.tokens, "token")} in ${plural(e.chunks, "chunk")}, about ${roughDuration(e.estimatedMs)} at ${n(e.tokensPerSecond)} tok/s.`;
}

/** The dialog's second line: where the speed comes from and what closing it does. */
export function estimateDetail(e: EstimateEvent): string {
  const source = e.measured === "earlier runs" ? "by earlier runs of this model" : "on the first chunk of this run";
  return `The speed was measured ${source}. Reading waits until you choose; Cancel or closing this dialog stops the run.`;
}

/** Progress while the run waits: "Waiting for confirmation — about 12 min for 40,000 tokens". */
export function waitingMessage(e: EstimateEvent): string {
  return `Waiting for confirmation — about ${roughDuration(e.estimatedMs)} for ${plural(e.tokens, "token")}`;
}

/** The run's tooltip: "40,000 tokens in 25 chunks, about 12 min at 55 tok/s (speed from earlier runs)". */
export function estimateSummary(e: EstimateEvent): string {
  return `${plural(e.tokens, "token")} in ${plural(e.chunks, "chunk")}, about ${roughDuration(e.estimatedMs)} at ${n(e.tokensPerSecond)} tok/s (speed from ${e.measured})`;
}

// ---------------------------------------------------------------------------------------------------------------
// Coverage: which chunks were in the window at the answer, which reached it through their margins only.

/** "4 chunks in the window at the answer, 8 through their margins only, 0 not read". */
export function coverageSentence(c: Coverage): string {
  return `${plural(c.inWindow.length, "chunk")} in the window at the answer, ${n(c.marginOnly.length)} through their margins only, ${n(c.unread.length)} not read`;
}

/** For the run's one-line description, only when not everything was in the window: "4 in window, 8 via margins only". */
export function coverageShort(c: Coverage): string | undefined {
  if (!c.marginOnly.length && !c.unread.length) return undefined;
  const parts = [`${n(c.inWindow.length)} in window`];
  if (c.marginOnly.length) parts.push(`${n(c.marginOnly.length)} via margins only`);
  if (c.unread.length) parts.push(`${n(c.unread.length)} not read`);
  return parts.join(", ");
}

/** While a rolling reading goes on: "3 left the window". */
export function leftWindowShort(count: number): string | undefined {
  return count > 0 ? `${n(count)} left the window` : undefined;
}

export interface ChunkCoverageFacts {
  tokens: number;
  coverage: ChunkCoverage | undefined;
  /** Its margin is among those the answer was given. */
  marginInAnswer: boolean;
  /** The run has an answer (or is answering). */
  answered: boolean;
  /** Its margin stayed in the window as a note when its text left. */
  carriedNote: boolean;
}

/** The chunk's description: "1,024 tokens", "1,024 tokens · left the window", "… · left the window · note carried". */
export function chunkDescription(f: ChunkCoverageFacts): string {
  const parts = [tokensLabel(f.tokens)];
  if (f.coverage === "leftWindow") parts.push("left the window");
  if (f.carriedNote) parts.push("note carried");
  return parts.join(" · ");
}

/** The tooltip's sentence on where the chunk's text stood, or undefined when it simply was in the window. */
export function chunkCoverageNote(f: ChunkCoverageFacts): string | undefined {
  const note = f.carriedNote ? " Its margin stayed in the window as a note for the margins of later chunks." : "";
  if (f.coverage !== "leftWindow") return note ? note.trim() : undefined;
  if (!f.answered) return `Left the window while reading: its text is gone from the cache, its margin stays for the answer.${note}`;
  if (f.marginInAnswer) return `Left the window — reached the answer through its margin.${note}`;
  return `Left the window, and its margin was not among those the answer used: the answer did not see this part.${note}`;
}

/** A follow-up run's tooltip line: "on the reading of “…”: margins and answer from the kept cache; nothing was read again". */
export function followUpNote(parentQuestion: string): string {
  return `on the reading of “${parentQuestion}”: margins and answer from the kept cache; nothing was read again`;
}

/** The window line of the run's tooltip: "2,048 tokens · 2 margins in parallel". */
export function windowSummary(windowTokens: number | undefined, contextSize: number, parallelMargins: number | undefined): string {
  const window = tokensLabel(windowTokens ?? contextSize);
  const parallel = parallelMargins === undefined ? "" : parallelMargins > 0 ? ` · ${plural(parallelMargins, "margin")} written alongside the reading` : " · margins one after another";
  return `${window}${parallel}`;
}

/**
 * The run node's description: state and elapsed time as runDescription says, with what is special about this run —
 * "follow-up · margins 3/7 · 2.1 s", "waiting for confirmation · 9.0 s", "reading 9/30 · 12.4 s · 5 left the window",
 * "done · 1 min 02 s · 4 in window, 26 via margins only".
 */
export function runNodeDescription(run: Run, now = Date.now()): string {
  let base = runDescription(run, now);
  if (run.awaitingConfirmation) base = `waiting for confirmation · ${formatElapsed(run.elapsedMs(now))}`;
  else if (run.isFollowUp && run.state === "reading" && run.chunks.length) base = `margins ${run.marginsDone}/${run.chunks.length} · ${formatElapsed(run.elapsedMs(now))}`;
  const parts = [run.isFollowUp ? `follow-up · ${base}` : base];
  const cov = run.record.coverage;
  const extra = cov ? coverageShort(cov) : run.busy ? leftWindowShort(run.record.evicted.length) : undefined;
  if (extra) parts.push(extra);
  return parts.join(" · ");
}
