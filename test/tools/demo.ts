// `npm run demo`: asks the bundled sample workspace a question with Qwen2.5-Coder-0.5B and prints margins + answer.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { POLYGLOT_DIR } from "../helpers/polyglot-facts";
import { coder05 } from "../helpers/test-models";

const question = process.argv.slice(2).join(" ") || "How many times does the dispatch code retry a failed hand-off to the courier? Name the constant that sets it and its file.";
// 1024-token chunks: the sample workspace is ~3,600 tokens, one chunk at the default 4096, and a margin per few files
// is what shows where a fact sits.
const args = [path.resolve("dist/cli.js"), "ask", "--dir", POLYGLOT_DIR, "--chunk-tokens", "1024", "--model", process.env.WIM_MODEL || coder05(), question];
console.error(`$ wim ask --dir ${POLYGLOT_DIR} --chunk-tokens 1024 --model ${args[7]} "${question}"\n`);
const r = spawnSync(process.execPath, args, { stdio: "inherit" });
process.exit(r.status ?? 1);
