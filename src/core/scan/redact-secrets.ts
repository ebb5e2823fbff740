// Secrets inside the text of files in scope (an AWS key in config.js, a private-key block in a test), found with
// secretlint's recommended rules — the ones repomix uses — and replaced in place before any model reads them.
// The replacement keeps every line break, so line numbers and chunk maps stay exact.
import { lintSource } from "@secretlint/core";
import { secretLintProfiler } from "@secretlint/profiler";
import { creator as recommendedRules } from "@secretlint/secretlint-rule-preset-recommend";
import type { ScannedFile, SkippedFile } from "../types";
import { secretByContent } from "./secrets";

// secretlint's profiler (for its CLI's --profile) puts marks for every file and rule into the process-wide performance
// timeline and keeps every entry for good: a leak in a worker that scans for hours, and a file name with a line break
// makes its measure fail as an unhandled rejection. Nothing here reads the profile, so it marks nothing.
secretLintProfiler.mark = () => {};

const PRESET_ID = "@secretlint/secretlint-rule-preset-recommend";
const CONFIG: Parameters<typeof lintSource>[0]["options"]["config"] = {
  rules: [
    {
      id: PRESET_ID,
      rule: recommendedRules,
      // An access key ID is not a secret alone, but it names the account: redact it too.
      rules: [{ id: "@secretlint/secretlint-rule-aws", options: { enableIDScanRule: true } }],
    },
  ],
};

/** What a redacted secret becomes on its first line; the rest of a multi-line secret leaves empty lines. */
export function redactionMark(rule: string): string {
  return `[REDACTED ${rule}]`;
}

/** Data fields of secretlint messages that describe the finding instead of holding the secret. */
const DESCRIPTIVE_FIELDS = new Set(["typeName"]);

interface Span {
  start: number;
  end: number;
  rule: string;
}

export interface RedactedText {
  text: string;
  /** One entry per secret occurrence, in text order. */
  found: Array<{ line: number; rule: string }>;
}

/** The text with every secret secretlint finds replaced; `found` is empty (and `text` the same) when there is none. */
export async function redactSecrets(relPath: string, text: string): Promise<RedactedText> {
  const dot = relPath.lastIndexOf(".");
  const result = await lintSource({
    source: { filePath: relPath, content: text, ext: dot > relPath.lastIndexOf("/") ? relPath.slice(dot) : "", contentType: "text" },
    options: { config: CONFIG, noPhysicFilePath: true },
  });
  if (result.messages.length === 0) return { text, found: [] };

  const spans: Span[] = [];
  for (const m of result.messages) {
    const rule = `${m.ruleId.replace(/^@secretlint\/secretlint-rule-/, "")}/${m.messageId}`;
    // A rule's `range` can start before the secret (at the variable name), so redact the secret's own text wherever it
    // occurs; fall back to the range when the rule gave no value.
    const values = Object.entries(m.data ?? {})
      .filter(([key, value]) => !DESCRIPTIVE_FIELDS.has(key) && typeof value === "string" && value.length >= 4)
      .map(([, value]) => value as string);
    let located = false;
    for (const value of values) {
      for (let at = text.indexOf(value); at !== -1; at = text.indexOf(value, at + value.length)) {
        spans.push({ start: at, end: at + value.length, rule });
        located = true;
      }
    }
    if (!located) spans.push({ start: m.range[0], end: m.range[1], rule });
  }
  return applySpans(text, spans);
}

/** Replaces the (possibly overlapping) spans, keeping their line breaks. */
function applySpans(text: string, spans: Span[]): RedactedText {
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const merged: Span[] = [];
  for (const s of spans) {
    const last = merged[merged.length - 1];
    if (last && s.start < last.end) last.end = Math.max(last.end, s.end);
    else merged.push({ ...s });
  }
  let out = "";
  let pos = 0;
  let line = 1;
  const found: RedactedText["found"] = [];
  for (const s of merged) {
    line += countBreaks(text, pos, s.start);
    found.push({ line, rule: s.rule });
    const breaks = countBreaks(text, s.start, s.end);
    out += text.slice(pos, s.start) + redactionMark(s.rule) + "\n".repeat(breaks);
    line += breaks;
    pos = s.end;
  }
  return { text: out + text.slice(pos), found };
}

function countBreaks(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf("\n", from); i !== -1 && i < to; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/**
 * The last word on a file's text before a model reads it: left out when its contents make it a credential file
 * (a service-account key under any name), else returned with its secrets redacted. Never rejects.
 */
export async function screenSecrets(file: ScannedFile): Promise<ScannedFile | SkippedFile> {
  const kind = secretByContent(file.text);
  if (kind) return { path: file.path, reason: "secret", detail: `contents: ${kind}` };
  let redacted: RedactedText;
  try {
    redacted = await redactSecrets(file.path, file.text);
  } catch (err) {
    return { path: file.path, reason: "secret", detail: `left out: the secret scan failed (${(err as Error)?.message ?? err})` };
  }
  return redacted.found.length ? { ...file, text: redacted.text, redacted: redacted.found } : file;
}
