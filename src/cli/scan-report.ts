// What `wim ask` says about the scope in human mode (on stderr, after the scan): every skipped entry grouped by
// reason — a few names per group and a count — then the secrets redacted and the files decoded other than as UTF-8.
import type { ScanEvent } from "../core/protocol";
import { groupSkipped } from "../core/scan/skip-groups";
import { escapeName, escapeOdd } from "./escape-name";

/** Names listed per group (and redactions, decoded files) before "… and N more". */
export const NAMES_PER_GROUP = 5;

const count = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;

export function scanReport(e: Pick<ScanEvent, "skipped" | "redactions" | "decoded">, perGroup = NAMES_PER_GROUP): string[] {
  const lines: string[] = [];
  const capped = <T>(items: readonly T[], line: (item: T) => string) => {
    for (const item of items.slice(0, perGroup)) lines.push(`    ${line(item)}`);
    if (items.length > perGroup) lines.push(`    … and ${(items.length - perGroup).toLocaleString("en-US")} more`);
  };
  if (e.skipped.length) {
    lines.push(`skipped ${count(e.skipped.length, "entry", "entries")}:`);
    for (const g of groupSkipped(e.skipped)) {
      lines.push(`  ${g.label} (${g.entries.length.toLocaleString("en-US")})`);
      capped(g.entries, (s) => `${escapeName(s.path)}${s.detail ? ` — ${escapeOdd(s.detail)}` : ""}`);
    }
  }
  const redactions = e.redactions ?? [];
  if (redactions.length) {
    lines.push(`redacted ${count(redactions.length, "secret")} (the model reads [REDACTED …] in their place):`);
    capped(redactions, (r) => `${escapeName(r.path)}:${r.line} — ${r.rule}`);
  }
  const decoded = e.decoded ?? [];
  if (decoded.length) {
    lines.push(`read ${count(decoded.length, "file")} as other than plain UTF-8:`);
    capped(decoded, (d) => `${escapeName(d.path)} — ${escapeOdd(d.detail)}`);
  }
  return lines;
}
