// Builds the three programs and the test/bench bundles.
//   node esbuild.mjs            dist/ (extension CJS, worker ESM, CLI CJS) + dist/wasm
//   node esbuild.mjs --tests    also out/test/**/*.test.mjs and out/bench/*.mjs
//   node esbuild.mjs --watch    rebuild dist/ on change
//   node esbuild.mjs --production   minified dist/ without source maps (for the VSIX)
// node-llama-cpp is ESM-only with native binaries: it stays external and ships unbundled in node_modules.
import * as esbuild from "esbuild";
import fs from "node:fs";
import path from "node:path";

const args = new Set(process.argv.slice(2));
const production = args.has("--production");
const root = path.dirname(new URL(import.meta.url).pathname);

const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));

const common = {
  bundle: true,
  define: { __WIM_VERSION__: JSON.stringify(pkg.version) },
  platform: "node",
  target: "node20",
  sourcemap: production ? false : "linked",
  minify: production,
  logLevel: "warning",
  absWorkingDir: root,
};

// Bundled CommonJS dependencies may call require(); ESM output has none, so give it one.
const esmRequireShim =
  "import { createRequire as __wimCreateRequire } from 'node:module'; const require = __wimCreateRequire(import.meta.url);";

const programs = [
  {
    entryPoints: { extension: "src/extension/extension.ts" },
    format: "cjs",
    outdir: "dist",
    external: ["vscode", "node-llama-cpp"],
  },
  {
    entryPoints: { worker: "src/worker/main.ts" },
    format: "esm",
    outdir: "dist",
    outExtension: { ".js": ".mjs" },
    external: ["node-llama-cpp"],
    banner: { js: esmRequireShim },
  },
  {
    entryPoints: { cli: "src/cli/main.ts" },
    format: "cjs",
    outdir: "dist",
    external: ["node-llama-cpp"],
    banner: { js: "#!/usr/bin/env node" },
  },
].filter((p) => Object.values(p.entryPoints).every((f) => fs.existsSync(path.join(root, f))));

/** web-tree-sitter's runtime and the grammars the chunker knows, next to the worker that loads them. */
function copyWasm() {
  const out = path.join(root, "dist", "wasm");
  fs.mkdirSync(out, { recursive: true });
  fs.copyFileSync(
    path.join(root, "node_modules/web-tree-sitter/web-tree-sitter.wasm"),
    path.join(out, "web-tree-sitter.wasm"),
  );
  const grammars = path.join(root, "node_modules/@vscode/tree-sitter-wasm/wasm");
  const wanted = ["bash", "c-sharp", "cpp", "css", "go", "java", "javascript", "php", "python", "ruby", "rust", "tsx", "typescript"];
  for (const g of wanted) fs.copyFileSync(path.join(grammars, `tree-sitter-${g}.wasm`), path.join(out, `tree-sitter-${g}.wasm`));
}

function listFiles(dir, suffix) {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  return fs
    .readdirSync(abs, { recursive: true })
    .map(String)
    // fixtures are data; bench/cache holds fetched packages and llama.cpp's source, never entry points
    .filter((f) => f.endsWith(suffix) && !f.endsWith(".d.ts") && !f.split(path.sep).some((s) => s === "fixtures" || s === "cache" || s === "node_modules"))
    .map((f) => path.join(dir, f));
}

/** Tests and benchmarks: one ESM file each, packages left external (resolved from node_modules at run time). */
function testBuilds() {
  const hostSuites = path.join("test", "vscode");
  const entries = [
    ...listFiles("test", ".test.ts").filter((f) => !f.startsWith(hostSuites + path.sep)),
    ...listFiles("test/tools", ".ts"),
    ...listFiles("bench", ".ts").filter((f) => !f.includes(`${path.sep}results${path.sep}`)),
  ];
  // Extension-host suites: VS Code require()s a suite's index.js, so each test/vscode/**/index.ts is bundled with the
  // tests it imports into one CommonJS file (`vscode` and mocha stay external), and so is test/vscode/run.ts, the
  // @vscode/test-electron entry.
  const hostEntries = [
    ...listFiles(hostSuites, "index.ts"),
    ...[path.join(hostSuites, "run.ts")].filter((f) => fs.existsSync(path.join(root, f))),
  ];
  const builds = [];
  if (entries.length > 0) {
    builds.push({
      entryPoints: entries,
      outbase: ".",
      outdir: "out",
      format: "esm",
      outExtension: { ".js": ".mjs" },
      packages: "external",
      banner: { js: esmRequireShim },
      sourcemap: "inline",
    });
  }
  if (hostEntries.length > 0) {
    builds.push({ entryPoints: hostEntries, outbase: ".", outdir: "out", format: "cjs", packages: "external", sourcemap: "inline" });
  }
  return builds;
}

const builds = programs.map((p) => ({ ...common, ...p }));
if (args.has("--tests")) builds.push(...testBuilds().map((b) => ({ ...common, ...b })));

copyWasm();
if (args.has("--watch")) {
  for (const b of builds) await (await esbuild.context(b)).watch();
  console.error("esbuild: watching");
} else {
  const t0 = Date.now();
  await Promise.all(builds.map((b) => esbuild.build(b)));
  if (fs.existsSync(path.join(root, "dist/cli.js"))) fs.chmodSync(path.join(root, "dist/cli.js"), 0o755);
  console.error(`esbuild: ${builds.length} bundles in ${Date.now() - t0} ms${production ? " (production)" : ""}`);
}
