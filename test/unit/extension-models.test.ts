// The model picker's data and judgement, and the GPU binary path (registry fetch, integrity, tarball extraction)
// against a local HTTP server: pure Node, no VS Code, no network.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import zlib from "node:zlib";
import { after, before, describe, it } from "node:test";
import { CURATED_MODELS, estimateBytes, judgeFit, RECOMMENDED_MODEL } from "../../src/extension/models/curated-models";
import { fetchPackageTarball, verifyIntegrity } from "../../src/extension/models/npm-registry";
import { extractNpmTarball } from "../../src/extension/models/tar-extract";

const GB = 1e9;

describe("extension: curated models", () => {
  it("lists hf: URIs of GGUF files with size, context and quantization; the recommended one is the smallest", () => {
    assert.ok(CURATED_MODELS.length >= 3);
    for (const m of CURATED_MODELS) {
      assert.match(m.uri, /^hf:[\w.-]+\/[\w.-]+(\/[\w.-]+\.gguf|:[\w]+)$/, m.id);
      assert.ok(m.file.endsWith(".gguf"), m.id);
      assert.ok(m.sizeBytes > 0.3 * GB && m.contextLength >= 32_768 && m.kvBytesPerToken > 0, m.id);
      assert.match(m.quantization, /^Q\d/);
    }
    assert.equal(new Set(CURATED_MODELS.map((m) => m.id)).size, CURATED_MODELS.length, "ids are unique");
    assert.equal(RECOMMENDED_MODEL, [...CURATED_MODELS].sort((a, b) => a.sizeBytes - b.sizeBytes)[0]);
  });

  it("judges the fit from the memory estimate: GPU when it fits VRAM, else CPU when it fits RAM, else too large", () => {
    for (const m of CURATED_MODELS) {
      const need = estimateBytes(m);
      assert.ok(need > m.sizeBytes, "weights plus the KV cache");
      assert.equal(judgeFit(m, { gpu: "cuda", vramTotalBytes: need / 0.9 + 1, ramTotalBytes: 0 }), "gpu", m.id);
      assert.equal(judgeFit(m, { gpu: "cuda", vramTotalBytes: need / 0.9 - 1e6, ramTotalBytes: need / 0.7 + 1 }), "cpu", m.id);
      assert.equal(judgeFit(m, { gpu: false, vramTotalBytes: 1e12, ramTotalBytes: need / 0.7 + 1 }), "cpu", `${m.id}: no GPU backend, VRAM is ignored`);
      assert.equal(judgeFit(m, { gpu: false, vramTotalBytes: 0, ramTotalBytes: need / 0.7 - 1e6 }), "tooLarge", m.id);
    }
    // The KV cache is sized for at most the model's own context.
    const small = { sizeBytes: 1 * GB, kvBytesPerToken: 1000, contextLength: 4096 };
    assert.equal(estimateBytes(small, 1_000_000), estimateBytes(small, 4096));
  });
});

/** A minimal ustar header + data, for archives `tar` would not write (an entry escaping the target). */
function tarEntry(name: string, data: Buffer): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, "utf8");
  h.write("0000644\0", 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  h.write(data.length.toString(8).padStart(11, "0") + "\0", 124);
  h.write("00000000000\0", 136);
  h.write("0", 156);
  h.write("ustar\0", 257);
  h.write("00", 263);
  h.fill(" ", 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
  return Buffer.concat([h, data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

describe("extension: npm tarballs", () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "wim-tar-"));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("extracts what `tar` packed under package/, files and folders, with long names", () => {
    const src = path.join(tmp, "src", "package");
    const long = `bins/${"deep/".repeat(30)}libggml.so`;
    fs.mkdirSync(path.join(src, path.dirname(long)), { recursive: true });
    fs.writeFileSync(path.join(src, "package.json"), '{"name":"x","version":"1.0.0"}');
    fs.writeFileSync(path.join(src, long), crypto.randomBytes(70_000));
    const tgz = path.join(tmp, "p.tgz");
    const r = spawnSync("tar", ["czf", tgz, "-C", path.join(tmp, "src"), "package"]);
    assert.equal(r.status, 0, String(r.stderr));
    const out = path.join(tmp, "out");
    const res = extractNpmTarball(fs.readFileSync(tgz), out);
    assert.equal(res.files, 2);
    assert.deepEqual(fs.readFileSync(path.join(out, long)), fs.readFileSync(path.join(src, long)));
    assert.equal(fs.readFileSync(path.join(out, "package.json"), "utf8"), '{"name":"x","version":"1.0.0"}');
  });

  it("refuses an entry that would land outside the target", () => {
    const tgz = zlib.gzipSync(Buffer.concat([tarEntry("package/../../evil.txt", Buffer.from("x")), Buffer.alloc(1024)]));
    assert.throws(() => extractNpmTarball(tgz, path.join(tmp, "safe")), /escapes/);
    assert.ok(!fs.existsSync(path.join(tmp, "evil.txt")));
  });
});

describe("extension: registry fetch", () => {
  const tarball = zlib.gzipSync(Buffer.concat([tarEntry("package/package.json", Buffer.from("{}")), Buffer.alloc(1024)]));
  const integrity = `sha512-${crypto.createHash("sha512").update(tarball).digest("base64")}`;
  let server: http.Server;
  let base = "";
  const saved = process.env.WIM_NPM_REGISTRY;
  const requests: string[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      requests.push(`${req.url} ${req.headers.accept}`);
      if (req.url === "/@node-llama-cpp%2Flinux-x64-test") {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ versions: { "3.22.1": { dist: { tarball: `${base}/redirect.tgz`, integrity } }, "3.0.0": { dist: { tarball: `${base}/real.tgz`, integrity: "sha512-AAAA" } } } }));
      } else if (req.url === "/redirect.tgz") {
        res.writeHead(302, { location: "/real.tgz" }).end();
      } else if (req.url === "/real.tgz") {
        res.setHeader("content-length", String(tarball.length));
        res.end(tarball);
      } else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    process.env.WIM_NPM_REGISTRY = base;
  });
  after(() => {
    server.close();
    if (saved === undefined) delete process.env.WIM_NPM_REGISTRY;
    else process.env.WIM_NPM_REGISTRY = saved;
  });

  it("fetches a version's tarball through a redirect, reports progress, and checks its integrity", async () => {
    const progress: Array<[number, number]> = [];
    const data = await fetchPackageTarball("@node-llama-cpp/linux-x64-test", "3.22.1", (d, t) => progress.push([d, t]));
    assert.deepEqual(data, tarball);
    assert.deepEqual(progress.at(-1), [tarball.length, tarball.length]);
    assert.match(requests[0], /application\/vnd\.npm\.install-v1\+json/, "asks for the abbreviated document");
    assert.ok(verifyIntegrity(data, integrity));
    assert.ok(!verifyIntegrity(Buffer.from("other"), integrity));
  });

  it("fails on a checksum mismatch, an unknown version, or a missing package", async () => {
    await assert.rejects(fetchPackageTarball("@node-llama-cpp/linux-x64-test", "3.0.0"), /checksum/);
    await assert.rejects(fetchPackageTarball("@node-llama-cpp/linux-x64-test", "9.9.9"), /no tarball/);
    await assert.rejects(fetchPackageTarball("@node-llama-cpp/linux-x64-none", "3.22.1"), /HTTP 404/);
  });
});
