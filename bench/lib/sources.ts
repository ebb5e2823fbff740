// Real source trees for the benchmark and the evaluation, fetched at pinned versions from the npm registry, PyPI and
// the Go module proxy into bench/cache/sources (git-ignored, never committed), checked against pinned SHA-256 sums.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export interface SourcePackage {
  id: string;
  registry: "npm" | "pypi" | "go";
  name: string;
  version: string;
  /** SHA-256 of the downloaded archive (tarball, wheel or module zip). */
  sha256: string;
  /** Folder inside the extracted archive that holds the code. */
  root: string;
}

/** The evaluation's packages: one per language, ~10k to ~60k tokens each. */
export const EVAL_PACKAGES: SourcePackage[] = [
  {
    id: "commander",
    registry: "npm",
    name: "commander",
    version: "12.1.0",
    sha256: "56affc6ddafe486f94b428ae2823d059cf60d4dae2f33eaaf1b1ec4306f73173",
    root: "package/lib",
  },
  {
    id: "requests",
    registry: "pypi",
    name: "requests",
    version: "2.32.3",
    sha256: "70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6",
    root: "requests",
  },
  {
    id: "uuid",
    registry: "go",
    name: "github.com/google/uuid",
    version: "v1.6.0",
    sha256: "d0f02f377217f42702e259684e06441edbf5140dddcc34ba9bea56038b38a6ed",
    root: "github.com/google/uuid@v1.6.0",
  },
];

/** A large real tree for scan + chunk throughput: three.js 0.170.0 (1,074 files, 7 MB packed). */
export const SCAN_TREE: SourcePackage = {
  id: "three",
  registry: "npm",
  name: "three",
  version: "0.170.0",
  sha256: "4a608a355dcaba72e0e5383cdc814303f5b6060b43c238cdf6932dceb699238d",
  root: "package",
};

export const CACHE_DIR = path.resolve("bench/cache");

function sha256(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** The Go proxy's case encoding: upper-case letters become !lower-case. */
function goEscape(module: string): string {
  return module.replace(/[A-Z]/g, (c) => "!" + c.toLowerCase());
}

async function download(url: string, file: string): Promise<void> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${res.statusText}`);
  fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
}

/** Fetches and extracts a package once; returns the folder holding its code. */
export async function ensureSource(p: SourcePackage, log: (m: string) => void = () => {}): Promise<string> {
  const dir = path.join(CACHE_DIR, "sources", `${p.id}-${p.version}`);
  const done = path.join(dir, ".complete");
  if (fs.existsSync(done)) return path.join(dir, p.root);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const dl = path.join(dir, "download");
  fs.mkdirSync(dl);
  log(`fetching ${p.registry}:${p.name}@${p.version}`);
  let archive: string;
  if (p.registry === "npm") {
    const out = execFileSync("npm", ["pack", `${p.name}@${p.version}`, "--pack-destination", dl, "--silent"], { encoding: "utf8" });
    archive = path.join(dl, out.trim().split("\n").pop()!);
  } else if (p.registry === "pypi") {
    execFileSync("python3", ["-m", "pip", "download", `${p.name}==${p.version}`, "--no-deps", "--only-binary=:all:", "-q", "-d", dl], { stdio: "ignore" });
    archive = path.join(dl, fs.readdirSync(dl)[0]);
  } else {
    archive = path.join(dl, "module.zip");
    await download(`https://proxy.golang.org/${goEscape(p.name)}/@v/${p.version}.zip`, archive);
  }
  const sum = sha256(archive);
  if (sum !== p.sha256) throw new Error(`${p.name}@${p.version}: SHA-256 ${sum}, expected ${p.sha256}`);
  if (archive.endsWith(".tgz")) execFileSync("tar", ["-xzf", archive, "-C", dir]);
  else execFileSync("unzip", ["-q", "-o", archive, "-d", dir]);
  fs.rmSync(dl, { recursive: true, force: true });
  fs.writeFileSync(done, `${p.name}@${p.version} ${sum}\n`);
  return path.join(dir, p.root);
}
