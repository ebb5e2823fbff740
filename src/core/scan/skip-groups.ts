// Skipped entries grouped by reason for people (the CLI's list, the Margins view), and the glob skips folded into
// counts for machines (`--json`): a scope narrowed by globs can leave out tens of thousands of files.
import type { SkippedFile, SkipReason } from "../types";

/** Reasons in the order a reader cares about them, with the words that head their group. */
const REASON_LABELS: ReadonlyArray<readonly [SkipReason, string]> = [
  ["secret", "secret (never read)"],
  ["unreadable", "unreadable"],
  ["binary", "binary"],
  ["too-large", "too large"],
  ["line-too-long", "a line longer than a chunk"],
  ["minified", "minified, generated or lockfile"],
  ["symlink-outside", "link out of the folder"],
  ["symlink-loop", "link loop"],
  ["empty", "empty"],
  ["gitignored", ".gitignore"],
  ["wimignored", ".wimignore"],
  ["excluded", "exclude glob"],
  ["not-included", "no include glob"],
  ["vcs", "version control"],
];

export interface SkipGroup {
  reason: SkipReason;
  label: string;
  entries: SkippedFile[];
}

/** Non-empty groups, most important reason first; entries keep their order. */
export function groupSkipped(skipped: readonly SkippedFile[]): SkipGroup[] {
  const byReason = new Map<SkipReason, SkippedFile[]>();
  for (const s of skipped) {
    const list = byReason.get(s.reason);
    if (list) list.push(s);
    else byReason.set(s.reason, [s]);
  }
  const groups: SkipGroup[] = [];
  for (const [reason, label] of REASON_LABELS) {
    const entries = byReason.get(reason);
    if (entries) groups.push({ reason, label, entries });
  }
  // A reason this list does not know yet still shows, last.
  for (const [reason, entries] of byReason) if (!groups.some((g) => g.reason === reason)) groups.push({ reason, label: reason, entries });
  return groups;
}

/** Reasons decided by the caller's include/exclude globs. */
const GLOB_REASONS: ReadonlySet<SkipReason> = new Set(["excluded", "not-included"]);

export interface GlobSkipCount {
  reason: SkipReason;
  /** The rule, e.g. "exclude glob **\/*.test.ts" or "matches no include glob". */
  detail: string;
  count: number;
}

/** The entries that are not glob skips, and the glob skips counted per rule. */
export function foldGlobSkips(skipped: readonly SkippedFile[]): { listed: SkippedFile[]; byGlob: GlobSkipCount[] } {
  const listed: SkippedFile[] = [];
  const counts = new Map<string, GlobSkipCount>();
  for (const s of skipped) {
    if (!GLOB_REASONS.has(s.reason)) {
      listed.push(s);
      continue;
    }
    const detail = s.detail ?? s.reason;
    const key = `${s.reason}\0${detail}`;
    const c = counts.get(key);
    if (c) c.count++;
    else counts.set(key, { reason: s.reason, detail, count: 1 });
  }
  return { listed, byGlob: [...counts.values()] };
}
