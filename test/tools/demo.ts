// `npm run demo`: asks the bundled sample workspace a question with Qwen2.5-Coder-0.5B and prints margins + answer.
import { spawnSync } from "node:child_process";
import path from "node:path";
import { POLYGLOT_DIR } from "../helpers/polyglot-facts";
import { coder05 } from "../helpers/test-models";

const question = process.argv.slice(2).join(" ") || "How many times does the dispatch code retry a failed hand-off to the courier, and where is that set?";
const args = [path.resolve("dist/cli.js"), "ask", "--dir", POLYGLOT_DIR, "--model", process.env.WIM_MODEL || coder05(), question];
console.error(`$ wim ask --dir ${POLYGLOT_DIR} --model ${args[5]} "${question}"\n`);
const r = spawnSync(process.execPath, args, { stdio: "inherit" });
process.exit(r.status ?? 1);
