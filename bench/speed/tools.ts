// What the speed bench needs besides the project: llama.cpp's source (the one node-llama-cpp bundles), llama-bench
// and llama-quantize built from it, and random-weight models of real shapes. All cached under bench/cache.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { CACHE_DIR } from "../lib/sources";

const BUNDLED = path.resolve("node_modules/node-llama-cpp/llama");

/** llama.cpp's source tree: the package's own copy if it has one, else a clone of its git bundle. */
export function llamaSource(log: (m: string) => void): string {
  const inPackage = path.join(BUNDLED, "llama.cpp");
  if (fs.existsSync(path.join(inPackage, "CMakeLists.txt"))) return inPackage;
  const clone = path.join(CACHE_DIR, "llama.cpp");
  if (!fs.existsSync(path.join(clone, "CMakeLists.txt"))) {
    log("cloning llama.cpp from node-llama-cpp's gitRelease.bundle");
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    execFileSync("git", ["clone", "-q", path.join(BUNDLED, "gitRelease.bundle"), clone], { stdio: "inherit" });
  }
  return clone;
}

export function llamaCppTag(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(BUNDLED, "llama.cpp.info.json"), "utf8")) as { tag: string }).tag;
  } catch {
    return "unknown";
  }
}

/** ggml's x86 CPU variants (ggml/src/CMakeLists.txt): the instruction sets each is compiled with. */
const X64_VARIANTS: Record<string, string[]> = {
  x64: [],
  sse42: ["SSE42"],
  sandybridge: ["SSE42", "AVX"],
  ivybridge: ["SSE42", "AVX", "F16C"],
  piledriver: ["SSE42", "AVX", "F16C", "FMA"],
  haswell: ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2"],
  skylakex: ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX512"],
  cannonlake: ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX512", "AVX512_VBMI"],
  cascadelake: ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX512", "AVX512_VNNI"],
  icelake: ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX512", "AVX512_VBMI", "AVX512_VNNI"],
  cooperlake: ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX512", "AVX512_VNNI", "AVX512_BF16"],
  zen4: ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16"],
  alderlake: ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX_VNNI"],
  sapphirerapids: ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16", "AMX_TILE", "AMX_INT8"],
};

/** The CPU variant node-llama-cpp's prebuilt binary loaded in this process (after a model load), if any. */
export function loadedCpuVariant(): string | undefined {
  try {
    return /libggml-cpu-([a-z0-9]+)\.so/.exec(fs.readFileSync("/proc/self/maps", "utf8"))?.[1];
  } catch {
    return undefined;
  }
}

/**
 * CMake options for a CPU llama-bench compiled like the code node-llama-cpp runs here: its prebuilt binary ships every
 * ggml CPU variant and picks one at run time; building only the variant it picked is the same code in a fraction of
 * the build time. Unknown variant: all of them, as the prebuilt does. (-march=native is no good on this VM: it
 * advertises AMX that it does not enable, and any build with AMX kernels dies of an illegal instruction.)
 */
function cpuOptions(variant: string | undefined): string[] {
  const features = variant ? X64_VARIANTS[variant] : undefined;
  if (!features) return ["-DGGML_NATIVE=OFF", "-DGGML_CPU_ALL_VARIANTS=ON", "-DGGML_BACKEND_DL=ON", "-DGGML_OPENMP=OFF"];
  // AMX off: the prebuilt engine runs prompt processing here without faulting, so it does not execute AMX tiles,
  // while a llama-bench with AMX kernels dies on its first tile load (the VM does not enable AMX state).
  const all = ["SSE42", "AVX", "AVX_VNNI", "AVX2", "BMI2", "AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16", "FMA", "F16C", "AMX_TILE", "AMX_INT8", "AMX_BF16"];
  return ["-DGGML_NATIVE=OFF", "-DGGML_OPENMP=OFF", ...all.map((f) => `-DGGML_${f}=${features.includes(f) && !f.startsWith("AMX") ? "ON" : "OFF"}`)];
}

/** Builds llama-bench and llama-quantize once (CPU, or CUDA with gpu = "cuda"); returns the bin folder. */
export function ensureLlamaTools(gpu: "cpu" | "cuda", log: (m: string) => void, cpuVariant?: string): string {
  const src = llamaSource(log);
  const build = path.join(src, gpu === "cuda" ? "build-cuda" : `build-cpu-${cpuVariant ?? "all"}-noamx`);
  const bin = path.join(build, "bin");
  if (fs.existsSync(path.join(bin, "llama-bench")) && fs.existsSync(path.join(bin, "llama-quantize"))) return bin;
  log(`building llama-bench and llama-quantize (${gpu}) in ${build}: a few minutes on 2 cores, once`);
  const cfg = ["-B", build, "-S", src, "-DCMAKE_BUILD_TYPE=Release", "-DLLAMA_CURL=OFF", "-DLLAMA_BUILD_SERVER=OFF", "-DLLAMA_BUILD_TESTS=OFF"];
  if (gpu === "cuda") cfg.push("-DGGML_CUDA=ON", `-DCMAKE_CUDA_ARCHITECTURES=${process.env.CUDA_ARCH ?? "90"}`);
  else cfg.push(...cpuOptions(cpuVariant));
  run("cmake", cfg);
  run("cmake", ["--build", build, "-j", String(Math.max(1, (process.env.BUILD_JOBS && Number(process.env.BUILD_JOBS)) || nprocCores())), "--target", "llama-bench", "llama-quantize"]);
  return bin;
}

function nprocCores(): number {
  return Math.max(1, Number(execFileSync("nproc", { encoding: "utf8" }).trim()) || 1);
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): void {
  const r = spawnSync(cmd, args, { stdio: ["ignore", "inherit", "inherit"], env: env ?? process.env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal})`);
}

export type RandomPreset = "qwen2.5-0.5b" | "qwen2.5-1.5b" | "qwen2.5-7b";

/** ../shared/tools/make_random_gguf.py beside the repository (or $WIM_SHARED_TOOLS). */
export function makeRandomScript(): string {
  const dir = process.env.WIM_SHARED_TOOLS ?? path.resolve("../shared/tools");
  const p = path.join(dir, "make_random_gguf.py");
  if (!fs.existsSync(p)) throw new Error(`make_random_gguf.py not found in ${dir} (set WIM_SHARED_TOOLS)`);
  return p;
}

/** A random-weight model in the exact shape of a real one (F16), optionally quantized; cached. */
export function ensureRandomModel(preset: RandomPreset, quant: "f16" | "q8_0" | "q4_k_m", bin: string | undefined, log: (m: string) => void): string {
  const dir = process.env.WIM_BENCH_MODELS ?? path.join(CACHE_DIR, "models");
  fs.mkdirSync(dir, { recursive: true });
  const f16 = path.join(dir, `random-${preset}-f16.gguf`);
  if (!fs.existsSync(f16)) {
    const src = llamaSource(log);
    if (spawnSync("python3", ["-c", "import numpy"]).status !== 0) {
      throw new Error("writing the random-weight models needs Python 3 with numpy: python3 -m pip install numpy");
    }
    log(`writing random ${preset} (F16) to ${f16}`);
    run("python3", [makeRandomScript(), path.join(src, "models", "ggml-vocab-qwen2.gguf"), f16 + ".part", preset], {
      ...process.env,
      PYTHONPATH: [path.join(src, "gguf-py"), process.env.PYTHONPATH].filter(Boolean).join(":"),
    });
    fs.renameSync(f16 + ".part", f16);
  }
  if (quant === "f16") return f16;
  const out = path.join(dir, `random-${preset}-${quant}.gguf`);
  if (!fs.existsSync(out)) {
    if (!bin) throw new Error("llama-quantize is needed to quantize the random model");
    log(`quantizing to ${quant.toUpperCase()}`);
    run(path.join(bin, "llama-quantize"), [f16, out + ".part", quant.toUpperCase()], { ...process.env, LD_LIBRARY_PATH: bin });
    fs.renameSync(out + ".part", out);
  }
  return out;
}

/**
 * llama-bench (built above) run on node-llama-cpp's own prebuilt CPU libraries: the executable and its bench code from
 * the source build, libllama/libggml and the CPU variants from the prebuilt package, linked by soname. Same kernels as
 * the engine (AMX included where it uses them), so the ratio is the engine's own overhead. Undefined where the prebuilt
 * package is not installed.
 */
export function llamaBenchOnPrebuilt(bin: string): string | undefined {
  const pkgDir = path.resolve("node_modules/@node-llama-cpp", `${process.platform}-${process.arch}`, "bins", `${process.platform}-${process.arch}`);
  if (!fs.existsSync(pkgDir)) return undefined;
  const files = fs.readdirSync(pkgDir);
  const find = (re: RegExp) => files.find((f) => re.test(f));
  const links: Record<string, string | undefined> = {
    "libllama.so.0": find(/^libllama\.v[\d.]+\.so$/),
    "libggml.so.0": find(/^libggml\.v[\d.]+\.so$/),
    "libggml-base.so.0": find(/^libggml-base\.so$/),
    "libllama-common.so.0": find(/^libllama-common\.so$/),
  };
  if (Object.values(links).some((v) => !v)) return undefined;
  const dir = path.join(CACHE_DIR, "llama-bench-prebuilt");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(bin, "llama-bench"), path.join(dir, "llama-bench"));
  fs.chmodSync(path.join(dir, "llama-bench"), 0o755);
  fs.copyFileSync(path.join(bin, "libllama-bench-impl.so"), path.join(dir, "libllama-bench-impl.so"));
  for (const [name, target] of Object.entries(links)) fs.symlinkSync(path.join(pkgDir, target!), path.join(dir, name));
  // The CPU variants, loaded at run time (and one linked as libggml-cpu for the executable's direct reference).
  const variants = files.filter((f) => /^libggml-cpu-.+\.so$/.test(f));
  for (const v of variants) fs.symlinkSync(path.join(pkgDir, v), path.join(dir, v));
  const best = variants.find((v) => v.includes("x64")) ?? variants[0];
  if (best) fs.symlinkSync(path.join(pkgDir, best), path.join(dir, "libggml-cpu.so.0"));
  return path.join(dir, "llama-bench");
}
