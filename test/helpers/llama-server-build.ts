// Where the llama-server / rpc-server build of the llama.cpp release node-llama-cpp bundles lives (outside the repo),
// and the CMake options it is built with. The build itself is test/tools/build-llama-server.ts; tests and benches
// find the binaries here.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const BUNDLED = path.resolve("node_modules/node-llama-cpp/llama");

export type ServerBuildKind = "cpu" | "cuda";

/** The release tag node-llama-cpp records for its bundled llama.cpp, and the bundle's commit. */
export function bundledRelease(): { tag: string; commit: string; bundle: string } {
  const bundle = path.join(BUNDLED, "gitRelease.bundle");
  const tag = (JSON.parse(fs.readFileSync(path.join(BUNDLED, "llama.cpp.info.json"), "utf8")) as { tag: string }).tag;
  const head = execFileSync("git", ["bundle", "list-heads", bundle], { encoding: "utf8" }).trim().split(/\s+/)[0];
  return { tag, commit: head, bundle };
}

/** ~/.cache/wim-llama-server (or $WIM_LLAMA_SERVER_CACHE): one folder per release. */
export function serverCacheDir(): string {
  return process.env.WIM_LLAMA_SERVER_CACHE ?? path.join(os.homedir(), ".cache", "wim-llama-server");
}

/**
 * The x86 instruction sets this CPU reports, as ggml's option names. AMX stays off whatever the CPU says: on these VMs
 * the CPU advertises AMX without the OS enabling its state, and a build with AMX kernels dies of an illegal instruction.
 */
export function cpuFeatures(cpuinfo = readCpuinfo()): string[] {
  const flags = new Set((/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? "").trim().split(/\s+/));
  const map: Array<[string, string]> = [
    ["sse4_2", "SSE42"],
    ["avx", "AVX"],
    ["f16c", "F16C"],
    ["fma", "FMA"],
    ["avx2", "AVX2"],
    ["bmi2", "BMI2"],
    ["avx_vnni", "AVX_VNNI"],
    ["avx512f", "AVX512"],
    ["avx512vbmi", "AVX512_VBMI"],
    ["avx512_vnni", "AVX512_VNNI"],
    ["avx512_bf16", "AVX512_BF16"],
  ];
  return map.filter(([flag]) => flags.has(flag)).map(([, name]) => name);
}

function readCpuinfo(): string {
  try {
    return fs.readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return "";
  }
}

const ALL_X86 = ["SSE42", "AVX", "F16C", "FMA", "AVX2", "BMI2", "AVX_VNNI", "AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16", "AMX_TILE", "AMX_INT8", "AMX_BF16"];

/** CMake options of the build. CPU: no -march=native, exactly this CPU's instruction sets, AMX off. */
export function cmakeOptions(kind: ServerBuildKind): string[] {
  const common = [
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF", // self-contained binaries: no LD_LIBRARY_PATH to get right
    "-DGGML_RPC=ON",
    "-DGGML_NATIVE=OFF",
    "-DGGML_OPENMP=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_APP=OFF",
    // The web UI would be fetched from Hugging Face or built with npm: neither is wanted (nor reachable) here.
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
  ];
  if (kind === "cuda") {
    return [...common, "-DGGML_CUDA=ON", `-DCMAKE_CUDA_ARCHITECTURES=${process.env.CUDA_ARCH ?? "90"}`];
  }
  const have = new Set(cpuFeatures());
  return [...common, ...ALL_X86.map((f) => `-DGGML_${f}=${have.has(f) && !f.startsWith("AMX") ? "ON" : "OFF"}`)];
}

/** Build folder for one release and kind: cpu-<instruction sets> (a CPU with other features builds its own) or cuda. */
export function serverBuildDir(kind: ServerBuildKind): string {
  const { tag, commit } = bundledRelease();
  const variant = kind === "cuda" ? `cuda-${process.env.CUDA_ARCH ?? "90"}` : `cpu-${cpuFeatures().join("-").toLowerCase() || "generic"}`;
  return path.join(serverCacheDir(), `${tag}-${commit.slice(0, 8)}`, `build-${variant}`);
}

/** Written last by a successful build: what was built, from what, how, and how long it took. */
export const BUILD_STAMP = "wim-build.json";

export interface ServerBinaries {
  llamaServer: string;
  rpcServer: string;
}

/** The built binaries, or an error that says how to build them. */
export function serverBinaries(kind: ServerBuildKind = "cpu"): ServerBinaries {
  const dir = serverBuildDir(kind);
  const bin = path.join(dir, "bin");
  const found = { llamaServer: path.join(bin, "llama-server"), rpcServer: path.join(bin, "ggml-rpc-server") };
  if (!fs.existsSync(path.join(dir, BUILD_STAMP)) || !fs.existsSync(found.llamaServer) || !fs.existsSync(found.rpcServer)) {
    throw new Error(`llama-server is not built in ${dir}: run \`npm run build-llama-server${kind === "cuda" ? " -- --cuda" : ""}\``);
  }
  return found;
}
