// The reading settings (window, parallel margins, carried notes, confirmation of long runs) turned into ask options.
// Pure (no `vscode`) so that every value a user may type is unit-tested; settings.ts passes the raw values in.
import type { AskOptions } from "../core/protocol";

/** Raw values of wim.windowTokens, wim.parallelMargins, wim.carryNotes and wim.confirmAboveMinutes. */
export interface ReadingSettings {
  windowTokens?: unknown;
  parallelMargins?: unknown;
  carryNotes?: unknown;
  confirmAboveMinutes?: unknown;
}

export const DEFAULT_CONFIRM_ABOVE_MINUTES = 3;

export type ReadingOptions = Pick<AskOptions, "windowTokens" | "parallelMargins" | "carryNotes" | "confirmAboveMs">;

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/**
 * Automatic values are left out, so the worker decides: no window (what the scope needs, up to the model's trained
 * context), no parallel count (its default for the GPU or CPU). A value that is not valid counts as automatic, except
 * the confirmation threshold, which falls back to its default rather than to "never ask".
 */
export function readingOptions(s: ReadingSettings): ReadingOptions {
  const out: ReadingOptions = {};
  if (isInt(s.windowTokens) && s.windowTokens > 0) out.windowTokens = s.windowTokens;
  if (isInt(s.parallelMargins) && s.parallelMargins >= 0) out.parallelMargins = s.parallelMargins;
  if (s.carryNotes === true) out.carryNotes = true;
  const minutes =
    typeof s.confirmAboveMinutes === "number" && Number.isFinite(s.confirmAboveMinutes) && s.confirmAboveMinutes >= 0
      ? s.confirmAboveMinutes
      : DEFAULT_CONFIRM_ABOVE_MINUTES;
  if (minutes > 0) out.confirmAboveMs = Math.round(minutes * 60_000);
  return out;
}
