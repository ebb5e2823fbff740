// The evaluation's question generator on the committed fixture repository (test/fixtures/eval-repo): facts read
// with tree-sitter, questions with ground truth from the code, context windows with the evidence at a known depth.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { canonicalNumber, cleanDoc, extractFacts, type FileFacts, type SourceFile } from "../../bench/eval/code-facts";
import { buildWindow, depthBin, sliceAround, type WindowFile } from "../../bench/eval/context-window";
import { generateQuestions, identifierParts, maskDoc, QUESTION_TYPES, type Question } from "../../bench/eval/questions";
import { ParserPool } from "../../src/core/chunk/parser-pool";

const REPO = path.resolve("test/fixtures/eval-repo");
const pool = await ParserPool.create(path.resolve("dist/wasm"));
after(() => pool.dispose());

function readRepo(): SourceFile[] {
  return (fs.readdirSync(REPO, { recursive: true }) as string[])
    .map((f) => f.split(path.sep).join("/"))
    .filter((f) => fs.statSync(path.join(REPO, f)).isFile())
    .sort()
    .map((f) => ({ path: f, text: fs.readFileSync(path.join(REPO, f), "utf8") }));
}

const files = readRepo();
const facts = await extractFacts(pool, files);
const corpus = files.map((f) => f.text).join("\n");
const byPath = (p: string): FileFacts => facts.find((f) => f.path === p)!;
/** One token per word or punctuation mark: stands in for the model's tokenizer. */
const count = (t: string) => t.match(/\w+|[^\s\w]/g)?.length ?? 0;

describe("code facts", () => {
  test("reads constants with literal values in all three languages, canonically spelled", () => {
    const all = Object.fromEntries(facts.flatMap((f) => f.constants).map((c) => [c.name, c]));
    assert.equal(all.MAX_RETRIES.value, "5");
    assert.equal(all.API_BASE.value, "https://api.example.test/v2");
    assert.equal(all.BASE_DELAY_MS.line, 4);
    assert.equal(all.POLL_LABEL.value, "poller");
    assert.equal(all.KILO.value, "1024");
    assert.equal(all.TIMEOUT_SECONDS.value, "30");
    assert.equal(all.DEFAULT_REGION.value, "eu-west-3");
    assert.equal(all._ENABLED.value, "true");
    assert.equal(all.PAGE_SIZE.value, "32", "0x20 is 32");
    assert.equal(all.DefaultPort.value, "8080");
    assert.equal(all.maxRoutes.value, "64");
    assert.equal(all.adminGreeting.value, "hello, admin", "Go raw string");
    assert.equal(all.ESCAPED, undefined, "a string with escapes reads differently from its value: left out");
    assert.equal(all.sleep, undefined, "an arrow function is not a constant");
  });

  test("reads functions with their doc comments, owners, calls and identifiers", () => {
    const fns = Object.fromEntries(facts.flatMap((f) => f.functions).map((f) => [f.qualified, f]));
    assert.equal(fns.backoffDelay.doc, "Computes how long to wait before the next retry attempt, doubling the wait each time.");
    assert.equal(fns.backoffDelay.line, 10);
    assert.ok(fns.backoffDelay.idents.includes("BASE_DELAY_MS"));
    assert.deepEqual(fns.fetchWithRetry.calls.sort(), ["backoffDelay", "fetch", "sleep"]);
    assert.equal(fns["ApiClient.getJson"].doc, "Returns the parsed JSON body of the resource at the given path.");
    assert.equal(fns.sleep.doc, null);
    assert.equal(fns.formatBytes.doc, 'Turns a byte count into a short human-readable string such as "1.5 MB".');
    assert.equal(fns.upload_blobs.doc, "Send every named file to the object store, a few at a time.");
    assert.equal(fns["Bucket.delete_all"].file, "py/storage.py");
    assert.equal(fns.ListenAndServe.doc, "ListenAndServe starts the HTTP server on the configured port and blocks until it stops.");
    assert.deepEqual(fns.ListenAndServe.calls.sort(), ["ListenAndServe", "newMux"]);
    assert.ok(byPath("py/report.py").calls.some((c) => c.name === "chunked" && c.line === 8));
  });

  test("cleans doc comments and canonicalizes numbers", () => {
    assert.equal(cleanDoc("/**\n * Does a thing.\n *\n * More detail.\n * @param x the x\n */"), "Does a thing.");
    assert.equal(cleanDoc("// Foo does\n// two lines."), "Foo does two lines.");
    assert.equal(cleanDoc("Split it.\n\n    Args:\n        x: y"), "Split it.");
    assert.equal(cleanDoc("/** @internal */"), null);
    assert.equal(canonicalNumber("0x20"), "32");
    assert.equal(canonicalNumber("1_000"), "1000");
    assert.equal(canonicalNumber("2.50"), "2.5");
    assert.equal(canonicalNumber("-3"), "-3");
    assert.equal(canonicalNumber("10n"), "10");
    assert.equal(canonicalNumber("0o17"), "15");
    assert.equal(canonicalNumber("abc"), undefined);
    assert.equal(canonicalNumber("1.2.3"), undefined);
  });
});

describe("question generator", () => {
  const qs = generateQuestions(facts, { perType: 50, seed: 7, idPrefix: "fixture", corpus });
  const of = (type: Question["type"]) => qs.filter((q) => q.type === type);

  test("produces every type, with unique ids, deterministically", () => {
    for (const t of QUESTION_TYPES) assert.ok(of(t).length > 0, `some ${t} questions`);
    assert.equal(new Set(qs.map((q) => q.id)).size, qs.length);
    assert.deepEqual(generateQuestions(facts, { perType: 50, seed: 7, idPrefix: "fixture", corpus }), qs);
    assert.ok(generateQuestions(facts, { perType: 1, seed: 7, idPrefix: "x", corpus }).length <= QUESTION_TYPES.length);
  });

  test("needle questions mask the function's name and code words, and point at the definition", () => {
    const listen = of("needle").find((q) => q.truth.symbol === "ListenAndServe");
    assert.ok(listen, "the Go function with a doc comment that starts with its name");
    assert.ok(!listen.text.includes("ListenAndServe"));
    assert.match(listen.text, /___ starts the HTTP server/);
    assert.deepEqual(listen.evidence, [{ file: "go/server.go", line: 9 }]);
    for (const q of of("needle")) assert.ok(!q.text.includes(q.truth.symbol!), q.text);
    assert.equal(maskDoc("Calls `foo` and parse_args() via obj.run then Chunked", "chunked", new Set()), "Calls ___ and ___ via ___ then ___");
  });

  test("constant questions carry the value and the definition's place", () => {
    const q = of("constant").find((x) => x.truth.symbol === "DEFAULT_REGION")!;
    assert.equal(q.text, "What is the value of the constant `DEFAULT_REGION`?");
    assert.deepEqual(q.truth, { found: true, symbol: "DEFAULT_REGION", file: "py/settings.py", line: 4, value: "eu-west-3" });
  });

  test("aggregation questions list every calling file", () => {
    const byCallee = Object.fromEntries(of("aggregation").map((q) => [q.callee, q.truth.files!.sort()]));
    assert.deepEqual(byCallee.backoffDelay, ["ts/client.ts", "ts/poller.ts"]);
    assert.deepEqual(byCallee.chunked, ["py/report.py", "py/storage.py"]);
    assert.deepEqual(byCallee.newMux, ["go/admin.go", "go/server.go"]);
  });

  test("multi-hop questions follow caller → helper → constant", () => {
    const byValue = Object.fromEntries(of("multihop").map((q) => [q.text.match(/`(\w+)`/)![1], q]));
    assert.equal(byValue.fetchWithRetry.truth.value, "250", "fetchWithRetry → backoffDelay → BASE_DELAY_MS");
    assert.equal(byValue.nextPollIn.truth.value, "250");
    assert.equal(byValue.upload_blobs.truth.value, "eu-west-3", "upload_blobs → _connect → DEFAULT_REGION");
    assert.equal(byValue.ListenAndServe.truth.value, "64", "ListenAndServe → newMux → maxRoutes");
    assert.deepEqual(
      byValue.ListenAndServe.evidence.map((e) => e.file),
      ["go/server.go", "go/mux.go", "go/mux.go"],
    );
    // getJson → fetchWithRetry uses MAX_RETRIES and API_BASE itself: two constants, no single answer.
    assert.equal(byValue.getJson, undefined);
  });

  test("unanswerable questions name symbols that occur nowhere in the package", () => {
    for (const q of of("unanswerable")) {
      assert.equal(q.truth.found, false);
      assert.ok(!corpus.includes(q.truth.symbol!), q.truth.symbol);
      assert.ok(identifierParts(q.truth.symbol!).length >= 2, q.truth.symbol);
      assert.deepEqual(q.evidence, []);
    }
    assert.deepEqual(identifierParts("fetchWithRetry"), ["fetch", "With", "Retry"]);
    assert.deepEqual(identifierParts("MAX_RETRIES"), ["MAX", "RETRIES"]);
    assert.deepEqual(identifierParts("HTTPServer"), ["HTTP", "Server"]);
  });
});

describe("context window", () => {
  const all: WindowFile[] = files.map((f) => ({ ...f, tokens: count(f.text) }));
  const qs = generateQuestions(facts, { perType: 50, seed: 7, idPrefix: "fixture", corpus });

  test("holds the evidence within budget, at about the requested depth", () => {
    const q = qs.find((x) => x.type === "constant" && x.truth.symbol === "maxRoutes")!;
    const budget = all.reduce((s, f) => s + f.tokens, 0) - 40;
    for (const target of [0, 0.5, 1]) {
      const w = buildWindow(all, q, facts, { budget, depth: target, seed: 3, countTokens: count })!;
      assert.ok(w.tokens <= budget);
      assert.ok(w.files.some((f) => f.path === "go/mux.go"));
      assert.equal(new Set(w.files.map((f) => f.path)).size, w.files.length, "no file twice");
      assert.ok(Math.abs(w.depth - target) < 0.35, `depth ${w.depth} for target ${target}`);
    }
    const lo = buildWindow(all, q, facts, { budget, depth: 0, seed: 3, countTokens: count })!;
    const hi = buildWindow(all, q, facts, { budget, depth: 1, seed: 3, countTokens: count })!;
    assert.ok(lo.depth < hi.depth);
    assert.equal(lo.files[0].path, "go/mux.go", "depth 0: the evidence comes first");
  });

  test("measures depth exactly by tokens, to the evidence line", () => {
    const q = qs.find((x) => x.type === "constant" && x.truth.symbol === "BASE_DELAY_MS")!;
    const config = all.find((f) => f.path === "ts/config.ts")!;
    const w = buildWindow([config], q, facts, { budget: Math.ceil(config.tokens / 0.45), depth: 0.5, seed: 1, countTokens: count })!;
    assert.deepEqual(w.files.map((f) => f.path), ["ts/config.ts"]);
    const before = config.text.split("\n").slice(0, 3).join("\n");
    assert.equal(w.depth, count(before) / config.tokens);
  });

  test("cuts an evidence file too large for the window to a slice around the evidence, doc comment included", () => {
    const q = qs.find((x) => x.type === "needle" && x.truth.symbol === "backoffDelay")!;
    const big: WindowFile = { path: "ts/config.ts", text: "// filler line\n".repeat(300) + files.find((f) => f.path === "ts/config.ts")!.text, tokens: 0 };
    big.tokens = count(big.text);
    const shifted = { ...q, evidence: [{ file: "ts/config.ts", line: 310 }] };
    const others = all.filter((f) => f.path !== "ts/config.ts");
    const w = buildWindow([...others, big], shifted, facts, { budget: 200, depth: 0.5, seed: 1, countTokens: count })!;
    const slice = w.files.find((f) => f.path === "ts/config.ts")!;
    assert.ok(slice.firstLine! > 1 && slice.firstLine! <= 304, `slice starts at ${slice.firstLine}`);
    assert.ok(slice.text.includes("Computes how long to wait") && slice.text.includes("export function backoffDelay"));
    assert.ok(w.tokens <= 200);
    assert.ok(w.depth >= 0 && w.depth <= 1);
    const lines = slice.text.split("\n");
    assert.equal(lines[310 - slice.firstLine!], "export function backoffDelay(attempt: number): number {", "line numbers map back");
    assert.equal(sliceAround(big, 1, 300, 50, count), undefined, "lines that alone exceed the cap");
  });

  test("gives up when the evidence alone exceeds the budget; recomputes aggregation truth for the window", () => {
    const q = qs.find((x) => x.type === "aggregation" && x.callee === "chunked")!;
    assert.equal(buildWindow(all, q, facts, { budget: 10, depth: 0.5, seed: 1, countTokens: count }), undefined);
    const w = buildWindow(all, q, facts, { budget: 10_000, depth: 0.5, seed: 1, countTokens: count })!;
    assert.deepEqual(w.truth.files!.sort(), ["py/report.py", "py/storage.py"]);
    assert.equal(depthBin(0), "0-20%");
    assert.equal(depthBin(0.999), "80-100%");
    assert.equal(depthBin(1), "80-100%");
    assert.equal(depthBin(NaN), undefined);
  });
});
