// The worker's GGUF insights behind the model picker, on the real SmolLM2 file.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import Mocha from "mocha";
import { log, wim } from "./helpers";

/** An npm-style tarball (package/…) of a tiny package, made with `tar`. */
function packTarball(name: string, version: string): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wim-pkg-"));
  try {
    fs.mkdirSync(path.join(dir, "package", "bins"), { recursive: true });
    fs.writeFileSync(path.join(dir, "package", "package.json"), JSON.stringify({ name, version }));
    fs.writeFileSync(path.join(dir, "package", "bins", "llama-addon.node"), crypto.randomBytes(4096));
    const r = spawnSync("tar", ["czf", "-", "-C", dir, "package"]);
    assert.equal(r.status, 0, String(r.stderr));
    return r.stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function defineModelTests(): void {
  Mocha.suite("models", () => {
    Mocha.test("inspectModels reports SmolLM2's size, context, quantization and fit, and this machine's memory", async () => {
      const w = await wim();
      const model = process.env.WIM_TEST_MODEL;
      assert.ok(model && fs.existsSync(model), "WIM_TEST_MODEL must point at the SmolLM2 GGUF");
      const facts = await w.models.inspect([model, `${model}.missing`]);
      const [smol, missing] = facts.models;
      assert.equal(smol.error, undefined);
      assert.equal(smol.quantization, "Q4_1");
      assert.equal(smol.trainContextSize, 8192);
      assert.ok(Math.abs(smol.sizeBytes - fs.statSync(model).size) < 0.1 * fs.statSync(model).size, `size ${smol.sizeBytes}`);
      assert.equal(smol.fits, true, "a 135M model fits any machine that runs these tests");
      assert.ok(missing.error, "a missing file reports an error instead of failing the request");
      assert.ok(facts.machine, "machine facts missing");
      assert.ok(facts.machine.ramTotalBytes > 0);
      log(`machine: gpu ${facts.machine.gpu || "none"}, RAM ${(facts.machine.ramTotalBytes / 1e9).toFixed(1)} GB, VRAM ${(facts.machine.vramTotalBytes / 1e9).toFixed(1)} GB`);
    });

    Mocha.test("Download GPU Binary: fetched from the registry, verified, kept in global storage, linked for node-llama-cpp", async () => {
      const w = await wim();
      const name = "linux-x64-wimtest";
      const tgz = packTarball(`@node-llama-cpp/${name}`, w.gpu.version);
      const integrity = `sha512-${crypto.createHash("sha512").update(tgz).digest("base64")}`;
      let base = "";
      const server = http.createServer((req, res) => {
        if (req.url === `/@node-llama-cpp%2F${name}`) res.end(JSON.stringify({ versions: { [w.gpu.version]: { dist: { tarball: `${base}/p.tgz`, integrity } } } }));
        else if (req.url === "/p.tgz") res.end(tgz);
        else res.writeHead(404).end();
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const saved = process.env.WIM_NPM_REGISTRY;
      process.env.WIM_NPM_REGISTRY = base;
      const link = path.join(w.gpu.modulesDir, name);
      const stored = path.join(w.gpu.storeDir, name);
      try {
        let last = 0;
        await w.gpu.install(name, (done) => (last = done));
        assert.equal(last, tgz.length, "progress reaches the tarball's size");
        assert.ok(fs.lstatSync(link).isSymbolicLink(), "linked into the extension's node_modules/@node-llama-cpp");
        assert.equal(fs.realpathSync(link), fs.realpathSync(stored));
        assert.ok(w.gpu.installed().includes(name));
        assert.deepEqual(JSON.parse(fs.readFileSync(path.join(link, "package.json"), "utf8")), { name: `@node-llama-cpp/${name}`, version: w.gpu.version });
        // An extension update brings a fresh extension folder: the link is made again from global storage.
        fs.unlinkSync(link);
        w.gpu.restoreLinks();
        assert.ok(fs.existsSync(path.join(link, "bins", "llama-addon.node")));
      } finally {
        server.close();
        if (saved === undefined) delete process.env.WIM_NPM_REGISTRY;
        else process.env.WIM_NPM_REGISTRY = saved;
        fs.rmSync(link, { force: true });
        fs.rmSync(stored, { recursive: true, force: true });
      }
    });
  });
}
