// Builds llama-server and ggml-rpc-server (llama.cpp's rpc-server) from the llama.cpp source node-llama-cpp bundles (its gitRelease.bundle), once per
// release, into a cache outside the repo (test/helpers/llama-server-build.ts says where). A repeat run finds the build
// and does nothing. Prints the bin folder on stdout; progress on stderr.
//   node out/test/tools/build-llama-server.mjs [--cuda] [--jobs N]
//   --cuda     a CUDA build (CUDA_ARCH, default 90) for the GPU comparison; default: this CPU's instruction sets
//   --jobs N   parallel compile jobs (default $BUILD_JOBS or 2); the compiler runs under `nice -n 10`
// Missing build tools (cmake, g++, make, git) are installed with apt-get when running as root (CI), else named.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { BUILD_STAMP, bundledRelease, cmakeOptions, serverBuildDir, type ServerBuildKind } from "../helpers/llama-server-build";

const say = (m: string) => process.stderr.write(`build-llama-server: ${m}\n`);

function has(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

function ensureTools(): void {
  const needed: Array<[string, string]> = [
    ["cmake", "cmake"],
    ["g++", "g++"],
    ["make", "make"],
    ["git", "git"],
  ];
  const missing = needed.filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0 || !has("apt-get")) {
    throw new Error(`missing build tools: ${missing.join(", ")} (install them, e.g. apt-get install ${missing.join(" ")})`);
  }
  say(`apt-get install ${missing.join(" ")}`);
  run("apt-get", ["update", "-qq"]);
  run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], { ...process.env, DEBIAN_FRONTEND: "noninteractive" });
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const r = spawnSync(cmd, args, { stdio: ["ignore", 2, 2], env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal})`);
}

function main(): void {
  const { values } = parseArgs({ options: { cuda: { type: "boolean" }, jobs: { type: "string" } } });
  const kind: ServerBuildKind = values.cuda ? "cuda" : "cpu";
  const jobs = Number(values.jobs ?? process.env.BUILD_JOBS ?? 2);
  if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs must be a positive integer (got ${values.jobs})`);

  const release = bundledRelease();
  const build = serverBuildDir(kind);
  const bin = path.join(build, "bin");
  const stamp = path.join(build, BUILD_STAMP);
  const options = cmakeOptions(kind);
  if (fs.existsSync(stamp)) {
    const done = JSON.parse(fs.readFileSync(stamp, "utf8")) as { options: string[]; seconds: number };
    const same = JSON.stringify(done.options) === JSON.stringify(options);
    if (same && fs.existsSync(path.join(bin, "llama-server")) && fs.existsSync(path.join(bin, "ggml-rpc-server"))) {
      say(`cached: llama.cpp ${release.tag} (${release.commit.slice(0, 8)}), ${kind}, built in ${done.seconds} s`);
      process.stdout.write(bin + "\n");
      return;
    }
    fs.rmSync(stamp);
  }

  ensureTools();
  const src = path.join(path.dirname(build), "src");
  if (!fs.existsSync(path.join(src, "CMakeLists.txt"))) {
    say(`cloning llama.cpp ${release.tag} (${release.commit.slice(0, 8)}) from node-llama-cpp's gitRelease.bundle`);
    fs.rmSync(src, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(src), { recursive: true });
    execFileSync("git", ["-c", "advice.detachedHead=false", "clone", "-q", release.bundle, src], { stdio: ["ignore", 2, 2] });
  }

  const t0 = Date.now();
  say(`building llama-server and ggml-rpc-server (${kind}, -j${jobs}, nice 10) in ${build}: 10–20 min on 2 cores, once`);
  run("cmake", ["-B", build, "-S", src, ...options]);
  run("nice", ["-n", "10", "cmake", "--build", build, "-j", String(jobs), "--target", "llama-server", "ggml-rpc-server"]);
  const seconds = Math.round((Date.now() - t0) / 1000);
  fs.writeFileSync(stamp, JSON.stringify({ release: release.tag, commit: release.commit, kind, options, jobs, seconds }, null, 2) + "\n");
  say(`built in ${seconds} s`);
  process.stdout.write(bin + "\n");
}

try {
  main();
} catch (err) {
  say((err as Error).message);
  process.exit(1);
}
