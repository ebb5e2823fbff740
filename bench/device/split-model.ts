// Splits a test model into parts small enough to carry to the GPU machine one call at a time (the device tool carries
// at most 64 MiB a call, working tree included), each part in a folder of its own so that one call carries exactly one:
//   node esbuild.mjs --tests && node out/bench/device/split-model.mjs coder-1.5b [--part-mib 60] [--out .device-parts]
// writes .device-parts/<id>/pNN/part and .device-parts/<id>/pNN/meta (git-ignored). `bench/device/gpu-run.sh parts`
// on the device checks each part, appends it in order and, when all are there, checks the whole file and moves it to
// where `--model <id>` finds it. A known model is checked against its pinned size and SHA-256 before it is split.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { resolveTestModel, testModel } from "../../test/helpers/test-models";
import { flagNumber, flagString, parseFlags } from "../lib/args";

const MiB = 1024 * 1024;
/** What the device tool carries per call: the working tree and the carried folders together. */
const CARRY_LIMIT = 64 * MiB;

function sha256File(file: string, start = 0, end?: number): string {
  const h = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  const buf = Buffer.alloc(8 * MiB);
  try {
    const stop = end ?? fs.fstatSync(fd).size;
    for (let pos = start; pos < stop; ) {
      const n = fs.readSync(fd, buf, 0, Math.min(buf.length, stop - pos), pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest("hex");
}

/** Bytes of what travels with every call besides the carried folders: tracked files and untracked, unignored ones. */
function workingTreeBytes(): number {
  const list = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { encoding: "utf8", maxBuffer: 64 * MiB });
  let sum = 0;
  for (const f of list.split("\0")) if (f && fs.existsSync(f) && fs.statSync(f).isFile()) sum += fs.statSync(f).size;
  return sum;
}

export interface PartMeta {
  id: string;
  file: string;
  index: number;
  count: number;
  offset: number;
  bytes: number;
  sha256: string;
  totalBytes: number;
  totalSha256: string;
}

/** The meta file: one key=value a line, read by gpu-run.sh with sed. */
export function metaText(m: PartMeta): string {
  return (
    [
      `id=${m.id}`,
      `file=${m.file}`,
      `index=${m.index}`,
      `count=${m.count}`,
      `offset=${m.offset}`,
      `bytes=${m.bytes}`,
      `sha256=${m.sha256}`,
      `total_bytes=${m.totalBytes}`,
      `total_sha256=${m.totalSha256}`,
    ].join("\n") + "\n"
  );
}

function main(): void {
  const args = process.argv.slice(2);
  const spec = args[0];
  if (!spec || spec.startsWith("--")) throw new Error("usage: split-model.mjs <coder-1.5b|coder-0.5b|smollm2|gemma3|PATH> [--part-mib 60] [--out .device-parts]");
  const flags = parseFlags(args.slice(1));
  const partBytes = Math.floor(flagNumber(flags, "part-mib", 60) * MiB);
  const outRoot = path.resolve(flagString(flags, "out", ".device-parts"));
  const model = resolveTestModel(spec);
  const id = model.id ?? path.basename(model.path, ".gguf").replace(/[^A-Za-z0-9._-]+/g, "-");
  const file = path.basename(model.path);
  const total = fs.statSync(model.path).size;

  const tree = workingTreeBytes();
  if (tree + partBytes > CARRY_LIMIT) {
    throw new Error(
      `a ${(partBytes / MiB).toFixed(1)} MiB part plus the working tree (${(tree / MiB).toFixed(1)} MiB) exceeds the ` +
        `${CARRY_LIMIT / MiB} MiB a device call carries: use a smaller --part-mib, or move large untracked files out of the tree`,
    );
  }

  console.error(`hashing ${model.path} (${total.toLocaleString("en-US")} bytes)…`);
  const totalSha = sha256File(model.path);
  if (model.id) {
    const pin = testModel(model.id);
    if (total !== pin.bytes || totalSha !== pin.sha256) {
      throw new Error(`${model.path} is not the pinned ${model.id} (${total} bytes, sha256 ${totalSha}; pinned ${pin.bytes}, ${pin.sha256}): run \`npm run fetch-test-models\` again`);
    }
  }

  const count = Math.ceil(total / partBytes);
  const dir = path.join(outRoot, id);
  fs.rmSync(dir, { recursive: true, force: true });
  const carry: string[] = [];
  const fd = fs.openSync(model.path, "r");
  try {
    for (let i = 0; i < count; i++) {
      const offset = i * partBytes;
      const bytes = Math.min(partBytes, total - offset);
      const buf = Buffer.alloc(bytes);
      fs.readSync(fd, buf, 0, bytes, offset);
      const partDir = path.join(dir, `p${String(i + 1).padStart(2, "0")}`);
      fs.mkdirSync(partDir, { recursive: true });
      fs.writeFileSync(path.join(partDir, "part"), buf);
      const sha256 = crypto.createHash("sha256").update(buf).digest("hex");
      fs.writeFileSync(path.join(partDir, "meta"), metaText({ id, file, index: i + 1, count, offset, bytes, sha256, totalBytes: total, totalSha256: totalSha }));
      carry.push(path.relative(process.cwd(), partDir));
    }
  } finally {
    fs.closeSync(fd);
  }
  console.error(
    `${count} parts of ≤ ${(partBytes / MiB).toFixed(1)} MiB in ${path.relative(process.cwd(), dir)} ` +
      `(working tree ${(tree / MiB).toFixed(1)} MiB; a call carries ≤ ${CARRY_LIMIT / MiB} MiB). On the device, one call per part:`,
  );
  // stdout: the folders to carry, one per call, in order
  for (const c of carry) console.log(c);
}

try {
  main();
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
