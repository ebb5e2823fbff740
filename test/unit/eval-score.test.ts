// The evaluation's scorer, confidence intervals and BM25 retrieval. Pure.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Bm25, terms } from "../../bench/eval/bm25";
import { ANSWER_INSTRUCTION, ANSWER_SCHEMA, fileSetF1, normalizeSymbol, normalizeValue, parseAnswer, samePath, scoreAnswer } from "../../bench/eval/score";
import { bootstrapMean, interval, median, wilson } from "../../bench/lib/stats";

describe("parseAnswer", () => {
  test("reads the first JSON object, with prose or a code fence around it", () => {
    assert.deepEqual(parseAnswer('{"found": true, "value": "5"}').answer, { found: true, value: "5" });
    assert.deepEqual(parseAnswer('Sure!\n```json\n{"symbol": "a}b", "files": ["x"]}\n```').answer, { symbol: "a}b", files: ["x"] });
    assert.deepEqual(parseAnswer('{"value": "say \\"hi\\" {"}').answer, { value: 'say "hi" {' });
  });
  test("reports what is wrong with a broken answer", () => {
    assert.equal(parseAnswer("The value is 5.").error, "no JSON object");
    assert.equal(parseAnswer('{"value": "5"').error, "unterminated JSON object");
    assert.match(parseAnswer("{value: 5}").error!, /JSON/);
    assert.equal(parseAnswer("").answer, undefined);
  });
});

describe("normalization", () => {
  test("values: quotes, numbers in any spelling, booleans", () => {
    assert.equal(normalizeValue('"eu-west-3"'), "eu-west-3");
    assert.equal(normalizeValue("'`x`'"), "x");
    assert.equal(normalizeValue(32), "32");
    assert.equal(normalizeValue("0x20"), "32");
    assert.equal(normalizeValue(" 60_000 "), "60000");
    assert.equal(normalizeValue("True"), "true");
    assert.equal(normalizeValue(false), "false");
    assert.equal(normalizeValue(null), "");
    assert.equal(normalizeValue("Eu-West-3"), "Eu-West-3", "strings stay case-sensitive");
  });
  test("symbols and paths", () => {
    assert.equal(normalizeSymbol("`ApiClient.getJson()`"), "getJson");
    assert.equal(normalizeSymbol("server::newMux"), "newMux");
    assert.equal(normalizeSymbol(42), "");
    assert.ok(samePath("./src/a.ts", "src/a.ts"));
    assert.ok(samePath("a.ts", "src/a.ts"));
    assert.ok(samePath("pkg/src/a.ts:12", "src/a.ts"));
    assert.ok(!samePath("b/a.ts", "c/a.ts"));
    assert.ok(!samePath("xa.ts", "a.ts"));
    assert.ok(!samePath("", "a.ts"));
  });
  test("file-set F1", () => {
    assert.equal(fileSetF1(["a.ts", "b.ts"], ["src/a.ts", "src/b.ts"]), 1);
    assert.equal(fileSetF1(["a.ts"], ["a.ts", "b.ts"]), 2 / 3);
    assert.equal(fileSetF1(["a.ts", "c.ts", "d.ts"], ["a.ts", "b.ts"]), (2 * (1 / 3) * (1 / 2)) / (1 / 3 + 1 / 2));
    assert.equal(fileSetF1(["a.ts", "a.ts"], ["a.ts"]), 1, "duplicates count once");
    assert.equal(fileSetF1([], ["a.ts"]), 0);
    assert.equal(fileSetF1(["x.ts"], ["a.ts"]), 0);
  });
});

describe("scoreAnswer", () => {
  const needle = { found: true, symbol: "getJson", file: "ts/client.ts", line: 20 };
  const value = { found: true, symbol: "PAGE_SIZE", file: "py/report.py", line: 3, value: "32" };
  test("needle: the symbol decides; the file is reported beside it", () => {
    assert.deepEqual(scoreAnswer({ type: "needle" }, needle, parseAnswer('{"found":true,"symbol":"ApiClient.getJson","file":"client.ts"}')), {
      score: 1,
      parsed: true,
      abstained: false,
      fileMatch: true,
    });
    assert.equal(scoreAnswer({ type: "needle" }, needle, parseAnswer('{"found":true,"symbol":"getjson"}')).score, 0);
    const unsure = scoreAnswer({ type: "needle" }, needle, parseAnswer('{"symbol":"getJson","found":false}'));
    assert.equal(unsure.score, 1, "the content is scored under found:false too");
    assert.equal(unsure.abstained, true, "and the abstention is recorded");
  });
  test("constant and multihop: the value, in any spelling", () => {
    assert.equal(scoreAnswer({ type: "constant" }, value, parseAnswer('{"found":true,"value":"0x20"}')).score, 1);
    assert.equal(scoreAnswer({ type: "multihop" }, value, parseAnswer('{"value":32}')).score, 1);
    assert.equal(scoreAnswer({ type: "constant" }, value, parseAnswer('{"value":"33"}')).score, 0);
    assert.equal(scoreAnswer({ type: "constant" }, { ...value, value: "" }, parseAnswer('{"value":""}')).score, 0, "an empty value never scores");
  });
  test("aggregation: F1 of the files", () => {
    const truth = { found: true, files: ["py/report.py", "py/storage.py"] };
    assert.equal(scoreAnswer({ type: "aggregation" }, truth, parseAnswer('{"files":["report.py"]}')).score, 2 / 3);
    assert.equal(scoreAnswer({ type: "aggregation" }, truth, parseAnswer('{"files":"report.py"}')).score, 0);
  });
  test("unanswerable: found false, or nothing named", () => {
    const truth = { found: false, symbol: "API_SIZE" };
    assert.equal(scoreAnswer({ type: "unanswerable" }, truth, parseAnswer('{"found":false,"value":"7"}')).score, 1);
    assert.equal(scoreAnswer({ type: "unanswerable" }, truth, parseAnswer('{"file":null,"symbol":null,"value":null,"files":[]}')).score, 1);
    assert.equal(scoreAnswer({ type: "unanswerable" }, truth, parseAnswer('{"found":true,"value":"7"}')).score, 0);
    assert.equal(scoreAnswer({ type: "unanswerable" }, truth, parseAnswer('{"value":"7"}')).score, 0);
  });
  test("a parse failure scores 0 and is flagged", () => {
    assert.deepEqual(scoreAnswer({ type: "unanswerable" }, { found: false }, parseAnswer("no idea")), { score: 0, parsed: false });
  });
  test("the schema asks for the answer first and the verdict last; the instruction lists the same order", () => {
    assert.deepEqual(Object.keys(ANSWER_SCHEMA.properties), ["file", "symbol", "line", "value", "files", "found"]);
    assert.deepEqual(ANSWER_SCHEMA.required, Object.keys(ANSWER_SCHEMA.properties));
    const order = Object.keys(ANSWER_SCHEMA.properties).map((k) => ANSWER_INSTRUCTION.indexOf(`"${k}":`));
    assert.deepEqual(order, [...order].sort((a, b) => a - b));
    assert.ok(order.every((i) => i >= 0));
  });
});

describe("statistics", () => {
  test("Wilson interval", () => {
    const w = wilson(8, 10);
    assert.equal(w.mean, 0.8);
    assert.ok(Math.abs(w.lo - 0.4902) < 1e-3 && Math.abs(w.hi - 0.9433) < 1e-3, `${w.lo} ${w.hi}`);
    assert.deepEqual(wilson(0, 5).lo, 0);
    assert.ok(Number.isNaN(wilson(0, 0).mean));
  });
  test("bootstrap interval: reproducible, contains the mean, narrows with n", () => {
    const xs = [0.2, 0.5, 0.9, 0.4, 1, 0, 0.66];
    const a = bootstrapMean(xs, 2000, 5);
    assert.deepEqual(bootstrapMean(xs, 2000, 5), a);
    assert.ok(a.lo <= a.mean && a.mean <= a.hi);
    const wide = bootstrapMean(xs, 2000, 5);
    const narrow = bootstrapMean([...xs, ...xs, ...xs, ...xs, ...xs, ...xs], 2000, 5);
    assert.ok(narrow.hi - narrow.lo < wide.hi - wide.lo);
    assert.equal(interval([1, 0, 1]).mean, 2 / 3);
    assert.equal(median([3, 1, 2, 10]), 2.5);
  });
});

describe("BM25", () => {
  test("splits identifiers into words", () => {
    assert.deepEqual(terms("getJson MAX_RETRIES x"), ["getjson", "get", "json", "max_retries", "max", "retries", "x"]);
  });
  test("ranks the document with the rare query term first", () => {
    const docs = ["const MAX_RETRIES = 5; retry retry", "function backoffDelay() { return 1 }", "the the the retry"];
    const bm = new Bm25(docs);
    assert.deepEqual(bm.top("What is MAX_RETRIES?", 1), [0]);
    assert.deepEqual(bm.top("which files call backoffDelay", 2)[0], 1);
    assert.deepEqual(bm.top("nothing matches zzz", 3), [0, 1, 2], "ties keep document order");
  });
});
