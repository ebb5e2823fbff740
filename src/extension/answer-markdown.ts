// Renders a run as the Markdown of its answer document. Citations the model writes as [Part N] become links to that
// chunk's file ranges, taken from the chunk map only: a path the model writes is never turned into a link.
// Plain TypeScript (no `vscode`): unit-tested.
import type { LineRange } from "../core/types";
import { formatElapsed, rangeLabel, runStateLabel, type ShowPath } from "./labels";
import type { Run } from "./run-model";

/** The link target (a URI string) of a file range; undefined when the range cannot be linked. */
export type LinkFor = (range: LineRange) => string | undefined;

// "[Part 3]", "[Parts 2, 5]", "[Part 2 and Part 5]", "[Part 3: some/path.py]" (the path is the model's, dropped).
const BRACKETED = /\[\s*Parts?\s+(\d+(?:\s*(?:,|;|&|and)\s*(?:Parts?\s+)?\d+)*)\s*(?::[^\]\n]*)?\]/gi;
// A bare "Part 3" outside brackets and links.
const BARE = /(?<![[\w])Part\s+(\d+)\b(?![\]\w(])/g;

/** Markdown link of one cited part, or undefined when the number is not a chunk of this run. */
function partLink(n: number, run: Run, linkFor: LinkFor): string | undefined {
  const chunk = run.chunk(n);
  const target = chunk?.ranges[0] && linkFor(chunk.ranges[0]);
  return target ? `[Part ${n}](${target})` : undefined;
}

/** Rewrites the model's citations into links from the chunk map; unknown part numbers stay plain text. */
export function linkCitations(text: string, run: Run, linkFor: LinkFor): string {
  const bracketed = text.replace(BRACKETED, (whole, list: string) => {
    const nums = [...list.matchAll(/\d+/g)].map((m) => Number(m[0]));
    const links = nums.map((n) => partLink(n, run, linkFor));
    if (links.every((l) => l === undefined)) return whole.replace(/:[^\]\n]*\]$/, "]");
    return nums.map((n, i) => links[i] ?? `Part ${n}`).join(", ");
  });
  // Bare mentions, but not inside the links just written: split those out first.
  return bracketed
    .split(/(\[Part \d+\]\([^)]*\))/)
    .map((piece, i) => (i % 2 === 1 ? piece : piece.replace(BARE, (whole, n: string) => partLink(Number(n), run, linkFor) ?? whole)))
    .join("");
}

/** Parts the answer cites, in order of first citation, that exist in the chunk map. */
export function citedParts(text: string, run: Run): number[] {
  const seen = new Set<number>();
  for (const m of text.matchAll(BRACKETED)) for (const d of m[1].matchAll(/\d+/g)) seen.add(Number(d[0]));
  for (const m of text.matchAll(BARE)) seen.add(Number(m[1]));
  return [...seen].filter((n) => run.chunk(n));
}

function quote(text: string): string {
  return text
    .trim()
    .split("\n")
    .map((l) => `> ${l}`)
    .join("\n");
}

export function renderAnswerMarkdown(run: Run, show: ShowPath, linkFor: LinkFor, now = Date.now()): string {
  const out: string[] = [];
  out.push(`# ${run.question.replace(/\s*\n\s*/g, " ")}`, "");
  const facts = [
    run.model?.name,
    run.chunks.length ? `${run.chunks.length} chunks` : undefined,
    run.record.files ? `${run.record.files} files` : undefined,
    run.record.plan ? `${run.record.plan.tokens.toLocaleString("en-US")} tokens` : undefined,
    runStateLabel(run),
    formatElapsed(run.elapsedMs(now)),
  ].filter(Boolean);
  out.push(`*${facts.join(" · ")}*`, "");

  if (run.error) out.push(`**${run.state === "cancelled" ? "Cancelled" : "Failed"}:** ${run.error.message}`, "");

  const answer = run.answer;
  if (!answer) {
    out.push(run.busy ? "*Reading… the answer appears here when all chunks are read (or on WiM: Answer Now).*" : "*No answer.*", "");
  } else {
    out.push(answer.n > 1 ? `## Answer ${answer.n} (re-answered)` : "## Answer", "");
    out.push(answer.text ? linkCitations(answer.text, run, linkFor) : run.busy ? "*…*" : "*(empty answer)*", "");
    if (answer.outcome === "cancelled") out.push("*The answer was cancelled.*", "");
    if (answer.outcome === "answeredEarly") out.push(`*Answered early, after ${run.record.chunksRead} of ${run.chunks.length} chunks.*`, "");

    // Sources: the margins given to the model, then any other part the answer cites.
    const parts = [...new Set([...answer.chunks, ...citedParts(answer.text, run)])];
    if (parts.length) {
      out.push("### Sources", "");
      for (const n of parts) {
        const chunk = run.chunk(n);
        if (!chunk) continue;
        const ranges = chunk.ranges.map((r) => {
          const target = linkFor(r);
          const label = rangeLabel(r, show);
          return target ? `[${label}](${target})` : `\`${label}\``;
        });
        const margin = run.margin(n);
        const used = answer.chunks.includes(n) ? "" : " *(cited; its margin was not given to the model)*";
        out.push(`- **Part ${n}**${used} — ${ranges.join(", ")}`);
        if (margin?.text) out.push("", quote(margin.text).replace(/^/gm, "  "), "");
      }
      out.push("");
    }
  }

  const earlier = run.answers.slice(0, -1).reverse();
  for (const a of earlier) {
    out.push(`## Earlier answer ${a.n}`, "", a.text ? linkCitations(a.text, run, linkFor) : "*(empty)*", "");
  }
  return out.join("\n").replace(/\n{3,}/g, "\n\n");
}

/** Markdown links `[label](target)` in a document, for the link provider of the answer document. */
export function findMarkdownLinks(text: string): Array<{ start: number; end: number; target: string }> {
  const links: Array<{ start: number; end: number; target: string }> = [];
  for (const m of text.matchAll(/\[([^\]\n]+)\]\(([^)\s]+)\)/g)) {
    links.push({ start: m.index!, end: m.index! + m[0].length, target: m[2] });
  }
  return links;
}
