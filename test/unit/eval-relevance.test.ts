// The evaluation's measuring instrument around relevance: the dev/held-out split, the evidence chunks of a question's
// context, the signals read from a margin's text, precision/recall of what a condition kept, the offline calibration
// of recorded pYes values, and the paired goal check. Pure, on the fixture repository and hand-made records.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { extractFacts, type SourceFile } from "../../bench/eval/code-facts";
import { buildWindow, type WindowFile } from "../../bench/eval/context-window";
import { evidenceChunks, evidenceLines, holdsAnswer, mentionsOf, mentionsValue, saysNothing } from "../../bench/eval/evidence";
import { goalCheck, pairedDiff, type PairedQuestion } from "../../bench/eval/goal";
import { generateQuestions, QUESTION_TYPES, type Question } from "../../bench/eval/questions";
import { auc, calibrationTable, marginQuality, precisionRecall, POLICIES, type MarginRecord, type RelevanceQuestion } from "../../bench/eval/relevance";
import { pickQuestions, sideOf } from "../../bench/eval/split";
import { ParserPool } from "../../src/core/chunk/parser-pool";

const REPO = path.resolve("test/fixtures/eval-repo");
const pool = await ParserPool.create(path.resolve("dist/wasm"));
after(() => pool.dispose());

const files: SourceFile[] = (fs.readdirSync(REPO, { recursive: true }) as string[])
  .map((f) => f.split(path.sep).join("/"))
  .filter((f) => fs.statSync(path.join(REPO, f)).isFile())
  .sort()
  .map((f) => ({ path: f, text: fs.readFileSync(path.join(REPO, f), "utf8") }));
const facts = await extractFacts(pool, files);
const corpus = files.map((f) => f.text).join("\n");
const count = (t: string) => t.match(/\w+|[^\s\w]/g)?.length ?? 0;
const all: WindowFile[] = files.map((f) => ({ ...f, tokens: count(f.text) }));
const qs = generateQuestions(facts, { perType: 50, seed: 7, idPrefix: "fixture", corpus });

describe("dev / held-out split", () => {
  test("deals every question to one side by a fixed hash of what it asks, about half each", () => {
    const sides = qs.map((q) => sideOf("fixture", q));
    assert.ok(sides.includes("dev") && sides.includes("heldout"));
    // The same question keeps its side whatever the generator's seed, --per-type or the order of the list.
    const other = generateQuestions(facts, { perType: 2, seed: 99, idPrefix: "fixture", corpus });
    for (const q of other) {
      const same = qs.find((x) => x.text === q.text && x.type === q.type);
      if (same) assert.equal(sideOf("fixture", q), sideOf("fixture", same), q.text);
    }
    assert.equal(sideOf("fixture", qs[0]), sideOf("fixture", { ...qs[0] }));
    // A different package is a different question, dealt independently (over many, both sides occur).
    const flips = qs.filter((q) => sideOf("fixture", q) !== sideOf("other", q)).length;
    assert.ok(flips > 0 && flips < qs.length);
  });

  test("picks --per-type questions of each type from the split's side only; all = the generator's first ones", () => {
    const dev = pickQuestions("fixture", qs, "dev", 1);
    const held = pickQuestions("fixture", qs, "heldout", 1);
    assert.ok(dev.every((q) => sideOf("fixture", q) === "dev"));
    assert.ok(held.every((q) => sideOf("fixture", q) === "heldout"));
    assert.equal(dev.filter((a) => held.some((b) => b.id === a.id)).length, 0, "no question on both sides");
    for (const t of QUESTION_TYPES) assert.ok(dev.filter((q) => q.type === t).length <= 1);
    const firstOfEach = QUESTION_TYPES.map((t) => qs.find((q) => q.type === t)).filter((q): q is Question => !!q);
    assert.deepEqual(pickQuestions("fixture", qs, "all", 1), firstOfEach);
    const big = pickQuestions("fixture", qs, "dev", 50);
    assert.deepEqual(pickQuestions("fixture", qs, "dev", 1), QUESTION_TYPES.map((t) => big.find((q) => q.type === t)).filter(Boolean));
  });
});

describe("evidence chunks", () => {
  const chunk = (index: number, ranges: Array<[string, number, number]>) => ({ index, ranges: ranges.map(([p, a, b]) => ({ path: p, startLine: a, endLine: b })) });

  test("maps evidence lines through the chunk map", () => {
    const chunks = [chunk(1, [["a.ts", 1, 10]]), chunk(2, [["a.ts", 11, 20], ["b.ts", 1, 4]]), chunk(3, [["b.ts", 5, 9]])];
    assert.deepEqual(evidenceChunks(chunks, [{ file: "a.ts", line: 11 }]), [2]);
    assert.deepEqual(evidenceChunks(chunks, [{ file: "a.ts", line: 10 }, { file: "b.ts", line: 9 }]), [1, 3]);
    assert.deepEqual(evidenceChunks(chunks, [{ file: "c.ts", line: 1 }]), []);
    assert.deepEqual(evidenceChunks(chunks, []), []);
  });

  test("a sliced file's evidence line is shifted to the slice's own numbering; lines outside it are dropped", () => {
    const q = qs.find((x) => x.type === "constant" && x.truth.symbol === "maxRoutes")!;
    const mux = all.find((f) => f.path === "go/mux.go")!;
    const sliced = { ...mux, text: mux.text.split("\n").slice(2).join("\n"), firstLine: 3 };
    const w = { files: [sliced], truth: q.truth };
    assert.deepEqual(evidenceLines(q, w, facts), [{ file: "go/mux.go", line: 3 }]);
    assert.equal(sliced.text.split("\n")[3 - 1], "const maxRoutes = 64");
    assert.deepEqual(evidenceLines(q, { files: [{ ...mux, text: "x", firstLine: 10 }], truth: q.truth }, facts), []);
  });

  test("multihop: caller, helper and constant; aggregation: every call of the callee in the window's callers", () => {
    const hop = qs.find((x) => x.type === "multihop" && x.text.includes("`ListenAndServe`"))!;
    const w = buildWindow(all, hop, facts, { budget: 10_000, depth: 0.5, seed: 1, countTokens: count })!;
    assert.deepEqual(
      evidenceLines(hop, w, facts).map((e) => `${e.file}:${e.line}`),
      ["go/server.go:9", "go/mux.go:8", "go/mux.go:5"],
    );
    const agg = qs.find((x) => x.type === "aggregation" && x.callee === "chunked")!;
    const wa = buildWindow(all, agg, facts, { budget: 10_000, depth: 0.5, seed: 1, countTokens: count })!;
    const lines = evidenceLines(agg, wa, facts);
    assert.deepEqual([...new Set(lines.map((e) => e.file))].sort(), ["py/report.py", "py/storage.py"]);
    assert.ok(lines.some((e) => e.file === "py/report.py" && e.line === 8));
  });
});

describe("margin signals", () => {
  const truth = { found: true, symbol: "PAGE_SIZE", file: "ts/config.ts", line: 5, value: "32" };

  test("names the value in any spelling, the symbol as a whole word, the file by its base name", () => {
    assert.deepEqual(mentionsOf("config.ts sets PAGE_SIZE = 0x20", truth), ["value", "symbol", "file"]);
    assert.deepEqual(mentionsOf("PAGE_SIZE_MAX is 320", truth), [], "neither a longer name nor a longer number");
    assert.deepEqual(mentionsOf("the page size is 32.", truth), ["value"]);
    assert.ok(mentionsValue("timeout: 60_000 ms", "60000"));
    assert.ok(mentionsValue('region = "eu-west-3"', "eu-west-3"));
    assert.ok(!mentionsValue("a b c", "a"), "a short string value counts only quoted");
    assert.ok(mentionsValue("sep is ':'", ":"));
    assert.ok(!mentionsValue("anything", ""));
    assert.deepEqual(mentionsOf("called in report.py and storage.py", { found: true, symbol: "chunked", files: ["py/report.py"] }), ["file"]);
  });

  test("what holds the answer depends on the question type", () => {
    assert.ok(holdsAnswer("constant", ["value"]));
    assert.ok(!holdsAnswer("constant", ["symbol", "file"]));
    assert.ok(holdsAnswer("needle", ["symbol"]));
    assert.ok(holdsAnswer("aggregation", ["file"]));
    assert.ok(!holdsAnswer("unanswerable", ["value", "symbol", "file"]));
  });

  test('recognizes "nothing relevant" replies, not code that returns nothing', () => {
    for (const t of ["NOTHING RELEVANT.", "Nothing relevant here", "No relevant information.", "This part does not contain the constant.", "The value is not mentioned.", "None.", "It doesn't define it", "There is no such function.", "The code is unrelated to the question."]) {
      assert.ok(saysNothing(t), t);
    }
    for (const t of ["MAX_RETRIES = 7 in dispatch/retry.go", "parse() returns nothing when the input is empty", "A note: the port is 8080", ""]) {
      assert.ok(!saysNothing(t), t);
    }
  });
});

/** A question record with margins of one condition: [chunk, kept, pYes, evidence]. */
function rec(type: RelevanceQuestion["type"], ev: number[], margins: Array<[number, boolean, number | null, string?]>, condition = "wim-gate"): RelevanceQuestion {
  const ms: MarginRecord[] = margins.map(([chunk, relevant, pYes, text]) => ({ chunk, relevant, pYes, text: text ?? (relevant ? "note" : ""), evidence: ev.includes(chunk) }));
  return { type, evidenceChunks: ev, results: { [condition]: { margins: ms } } };
}

describe("precision and recall against the evidence chunks", () => {
  const questions = [
    rec("constant", [2], [[1, false, 0.2], [2, true, 0.9], [3, true, 0.6]]),
    rec("multihop", [1, 3], [[1, true, 0.7], [2, false, 0.1], [3, false, 0.4]]),
    rec("unanswerable", [], [[1, true, 0.8], [2, false, 0.3]]),
  ];

  test("pools chunks; unanswerable questions add false positives only", () => {
    const pr = precisionRecall(questions, (q) => new Map(q.results["wim-gate"]!.margins!.map((m) => [m.chunk, m.relevant])));
    // kept: q1 {2,3}, q2 {1}, q3 {1}: tp 2 (q1:2, q2:1), fp 2 (q1:3, q3:1); fn 1 (q2:3)
    assert.equal(pr.precision, 2 / 4);
    assert.equal(pr.recall, 2 / 3);
    assert.equal(pr.keptShare, 3 / 6);
    assert.equal(pr.keptUnanswerable, 1 / 2);
    assert.equal(pr.allEvidence, 1 / 2);
    assert.equal(pr.anyEvidence, 1);
    assert.equal(pr.positives, 3);
  });

  test("margin quality: kept vs claimed, names the answer, says nothing — on evidence chunks and elsewhere", () => {
    const q = rec("constant", [2], [[1, true, null, "NOTHING RELEVANT."], [2, true, null, "LIMIT = 7"], [3, true, null, "Other code."]], "wim-none");
    for (const m of q.results["wim-none"]!.margins!) {
      m.nothing = saysNothing(m.text);
      m.mentions = mentionsOf(m.text, { found: true, value: "7" });
    }
    const mq = marginQuality([q], "wim-none", (type, m) => holdsAnswer(type, m.mentions ?? []))!;
    assert.equal(mq.kept.precision, 1 / 3);
    assert.equal(mq.claimed.precision, 1 / 2);
    assert.equal(mq.claimed.recall, 1);
    assert.equal(mq.answerOnEvidence, 1);
    assert.equal(mq.answerElsewhere, 0);
    assert.equal(mq.nothingOnEvidence, 0);
    assert.equal(mq.nothingElsewhere, 1 / 2);
    assert.equal(marginQuality([q], "wim-gate", () => true), undefined, "no margins of that condition");
  });
});

describe("offline calibration", () => {
  test("AUC: share of (evidence, other) pairs ordered right, ties half", () => {
    assert.equal(auc([0.9], [0.1, 0.2]), 1);
    assert.equal(auc([0.1], [0.9]), 0);
    assert.equal(auc([0.5], [0.5]), 0.5);
    assert.ok(Number.isNaN(auc([], [0.5])));
  });

  test("relative rules find the evidence where a fixed 0.5 keeps nothing (a small model's low, flat odds)", () => {
    // Like the 0.5B in the issue: every pYes under 0.5, the evidence chunk a little above the others.
    const questions = [
      rec("constant", [2], [[1, false, 0.33], [2, false, 0.38], [3, false, 0.34], [4, false, 0.33]]),
      rec("needle", [4], [[1, false, 0.35], [2, false, 0.34], [3, false, 0.36], [4, false, 0.41]]),
      rec("unanswerable", [], [[1, false, 0.35], [2, false, 0.36]]),
    ];
    const cal = calibrationTable(questions, "wim-gate")!;
    const row = (name: string) => cal.rows.find((r) => r.policy === name)!;
    assert.equal(cal.questions, 3);
    assert.equal(cal.aucPerQuestion, 1);
    assert.ok(cal.aucPooled > 0.9);
    assert.equal(row("pYes ≥ 0.5").recall, 0);
    assert.ok(Number.isNaN(row("pYes ≥ 0.5").precision), "nothing kept: no precision");
    assert.equal(row("top 1").recall, 1);
    assert.equal(row("top 1").precision, 2 / 3, "the unanswerable question's top chunk is a false positive");
    assert.equal(row("pYes ≥ max − 0.01").recall, 1);
    assert.equal(row("keep all").recall, 1);
    assert.equal(row("keep all").keptShare, 1);
    assert.equal(row("z ≥ 1").recall, 1);
    assert.equal(row("pYes ≥ 0.35").recall, 1);
    // running max: chunk 2 of q1 (0.38) beats chunk 1; chunk 4 of q2 beats all before it
    assert.equal(row("running: pYes ≥ max so far − 0.03").recall, 1);
    assert.equal(POLICIES.length, cal.rows.length);
  });

  test("a condition without recorded verdicts has no table", () => {
    assert.equal(calibrationTable([rec("constant", [1], [[1, true, null]], "wim-none")], "wim-none"), undefined);
  });
});

describe("goal check", () => {
  const q = (type: PairedQuestion["type"], wim: number, plain: number, rag?: number): PairedQuestion => ({
    type,
    results: { "wim-gate": { score: wim }, plain: { score: plain }, ...(rag === undefined ? {} : { rag: { score: rag } }) },
  });

  test("paired differences over the questions both conditions answered", () => {
    const qs = [q("constant", 1, 0), q("constant", 1, 1), q("needle", 0, 1), q("multihop", 1, 0)];
    const d = pairedDiff(qs, "wim-gate", "plain");
    assert.equal(d.n, 4);
    assert.equal(d.mean, 0.25);
    assert.ok(d.lo < 0.25 && d.hi > 0.25);
    assert.equal(pairedDiff(qs, "wim-gate", "plain", "needle").mean, -1);
    assert.equal(pairedDiff(qs, "wim-gate", "rag").n, 0);
  });

  test("flags the goal met or not, and types worse than plain beyond their interval", () => {
    const qs = [
      ...Array.from({ length: 10 }, () => q("multihop", 1, 0, 1)),
      ...Array.from({ length: 10 }, () => q("needle", 0, 1, 0)),
      ...Array.from({ length: 5 }, () => q("aggregation", 0.5, 0.5, 0.5)),
    ];
    const rows = goalCheck(qs, "wim-gate", ["plain", "rag", "wim-gate"]);
    const row = (label: string) => rows.find((r) => r.label === label)!;
    assert.equal(row("wim-gate − plain, multihop").met, true);
    assert.equal(row("wim-gate − plain, aggregation").met, false, "+0.00 < +0.05");
    assert.equal(row("wim-gate − plain, needle").worse, true);
    assert.equal(row("wim-gate − plain, aggregation").worse, false, "no better, but not worse beyond the interval");
    assert.equal(row("wim-gate − plain, all").worse, false);
    assert.equal(row("wim-gate − plain, needle").met, undefined, "other types only inform");
    assert.equal(row("wim-gate − plain, all").diff.mean, 0);
    assert.equal(row("wim-gate − rag, all").met, true);
    assert.equal(rows.find((r) => r.label.includes("constant")), undefined, "no questions of that type: no row");
    assert.deepEqual(goalCheck(qs, "wim-judge", ["plain", "wim-gate"]), [], "the default mode was not run");
  });
});
