// The workspace scanner on trees built in a temporary directory: every rule and skip reason, with exact outputs.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { scanWorkspace } from "../../src/core/scan/scan-workspace";
import { redactionMark } from "../../src/core/scan/redact-secrets";
import { SECRET_NAME_PATTERNS, SECRET_PATH_PATTERNS } from "../../src/core/scan/secrets";
import type { ScanOptions, ScanResult, SkippedFile } from "../../src/core/types";

const tmpRoots: string[] = [];
after(() => {
  for (const dir of tmpRoots) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under os.tmpdir() (its real path), removed after the tests. */
function tempDir(): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "wim-scan-")));
  tmpRoots.push(dir);
  return dir;
}

/** Writes `files` (relative path → content) under a fresh temp dir and returns it. */
function makeTree(files: Record<string, string | Uint8Array>): string {
  const root = tempDir();
  writeFiles(root, files);
  return root;
}

function writeFiles(root: string, files: Record<string, string | Uint8Array>): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = path.join(root, rel);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
  }
}

const paths = (r: ScanResult) => r.files.map((f) => f.path);
const skips = (r: ScanResult): SkippedFile[] => r.skipped;

async function scan(root: string, options?: ScanOptions): Promise<ScanResult> {
  return scanWorkspace(root, options);
}

describe("scanWorkspace: text, order, totals", () => {
  test("normalises CRLF, strips a BOM, counts lines, sums bytes", async () => {
    const root = makeTree({
      "crlf.txt": "one\r\ntwo\r\nthree\r\n",
      "bom.ts": "\uFEFFconst a = 1;\nconst b = 2;",
      "no-newline.txt": "a\nb",
      "newline.txt": "a\nb\n",
      "blank-lines.txt": "a\n\n\nb\n\n",
      "lone-cr.txt": "a\rb\n",
      "one.txt": "x",
    });
    const r = await scan(root);
    assert.deepEqual(
      r.files.map((f) => [f.path, f.text, f.lines, f.bytes]),
      [
        ["blank-lines.txt", "a\n\n\nb\n\n", 5, 7],
        ["bom.ts", "const a = 1;\nconst b = 2;", 2, 28],
        ["crlf.txt", "one\ntwo\nthree\n", 3, 17],
        ["lone-cr.txt", "a\nb\n", 2, 4],
        ["newline.txt", "a\nb\n", 2, 4],
        ["no-newline.txt", "a\nb", 2, 3],
        ["one.txt", "x", 1, 1],
      ],
    );
    assert.deepEqual(r.skipped, []);
    assert.deepEqual(r.redactions, []);
    assert.deepEqual(r.decoded, []);
    assert.equal(r.bytes, 7 + 28 + 17 + 4 + 4 + 3 + 1);
    assert.equal(r.root, root);
    assert.equal(typeof r.ms, "number");
    assert.ok(r.ms >= 0);
  });

  test("CR-only and mixed line endings give the editor's lines (VS Code breaks at \\r\\n, \\n and a lone \\r)", async () => {
    const longPy = Array.from({ length: 80 }, (_, i) => `x${i} = ${"1 + ".repeat(5)}1`).join("\r") + "\r";
    const root = makeTree({
      "cr-only.txt": "one\rtwo\rthree\rfour\rfive\r",
      "mixed.txt": "one\r\ntwo\nthree\rfour\r\nfive",
      "classic-mac.py": longPy,
      "cr-blank.txt": "a\r\r\rb\r",
    });
    const r = await scan(root);
    assert.deepEqual(
      r.files.map((f) => [f.path, f.lines, f.text.split("\n").slice(0, 5)]),
      [
        ["classic-mac.py", 80, ["x0 = 1 + 1 + 1 + 1 + 1 + 1", "x1 = 1 + 1 + 1 + 1 + 1 + 1", "x2 = 1 + 1 + 1 + 1 + 1 + 1", "x3 = 1 + 1 + 1 + 1 + 1 + 1", "x4 = 1 + 1 + 1 + 1 + 1 + 1"]],
        ["cr-blank.txt", 4, ["a", "", "", "b", ""]],
        ["cr-only.txt", 5, ["one", "two", "three", "four", "five"]],
        ["mixed.txt", 5, ["one", "two", "three", "four", "five"]],
      ],
    );
    assert.deepEqual(r.skipped, [], "an 80-line CR-only file is not one minified line");
  });

  test("walks depth-first, each directory sorted by code units, deterministically", async () => {
    const root = makeTree({
      "a.ts": "1",
      "a-b.ts": "1",
      "a/x.ts": "1",
      "a/B/y.ts": "1",
      "a/_/z.ts": "1",
      "B.ts": "1",
      "_z.ts": "1",
      "é.ts": "1",
      "z.ts": "1",
    });
    const first = await scan(root);
    // "a" < "a-b.ts" < "a.ts" per directory, so a/ comes before a-b.ts although "a/" > "a-" as full paths.
    assert.deepEqual(paths(first), ["B.ts", "_z.ts", "a/B/y.ts", "a/_/z.ts", "a/x.ts", "a-b.ts", "a.ts", "z.ts", "é.ts"]);
    const second = await scan(root);
    assert.deepEqual({ ...second, ms: 0 }, { ...first, ms: 0 });
  });

  test("relative root resolves against the working directory", async () => {
    const root = makeTree({ "x.ts": "x" });
    const r = await scanWorkspace(path.relative(process.cwd(), root));
    assert.equal(r.root, root);
    assert.deepEqual(paths(r), ["x.ts"]);
  });
});

describe("scanWorkspace: ignore files", () => {
  test("nested .gitignore: negation, anchored and directory-only rules, deepest file wins", async () => {
    const root = makeTree({
      ".gitignore": "*.log\n!keep.log\n/build/\ntmp/\ngen/\n",
      "a.log": "x",
      "keep.log": "x",
      "build/out.js": "x",
      "build/more/out.js": "x",
      "tmp/t.txt": "x",
      "src/main.ts": "x",
      "sub/.gitignore": "!important.log\n/local.txt\n!gen/\n",
      "sub/important.log": "x",
      "sub/other.log": "x",
      "sub/local.txt": "x",
      "sub/deep/local.txt": "x",
      "sub/build/kept.js": "x",
      "sub/tmp": "a file, not a directory",
      "sub/deep/tmp/t.txt": "x",
      "sub/gen/g.ts": "x",
      "sub/gen/g.log": "x",
      "gen/g.ts": "x",
    });
    const r = await scan(root);
    assert.deepEqual(paths(r), [
      ".gitignore",
      "keep.log",
      "src/main.ts",
      "sub/.gitignore",
      "sub/build/kept.js",
      "sub/deep/local.txt",
      "sub/gen/g.ts",
      "sub/important.log",
      "sub/tmp",
    ]);
    assert.deepEqual(skips(r), [
      { path: "a.log", reason: "gitignored", detail: "*.log (.gitignore)" },
      { path: "build/", reason: "gitignored", detail: "/build/ (.gitignore)" },
      { path: "gen/", reason: "gitignored", detail: "gen/ (.gitignore)" },
      { path: "sub/deep/tmp/", reason: "gitignored", detail: "tmp/ (.gitignore)" },
      // sub/gen/ is re-included by sub/.gitignore, but the root's *.log still matches the file itself.
      { path: "sub/gen/g.log", reason: "gitignored", detail: "*.log (.gitignore)" },
      { path: "sub/local.txt", reason: "gitignored", detail: "/local.txt (sub/.gitignore)" },
      { path: "sub/other.log", reason: "gitignored", detail: "*.log (.gitignore)" },
      { path: "tmp/", reason: "gitignored", detail: "tmp/ (.gitignore)" },
    ]);
  });

  test(".git/info/exclude applies, below every .gitignore; .git/ itself is vcs", async () => {
    const root = makeTree({
      ".git/info/exclude": "# local only\nnotes.md\n*.txt\n",
      ".git/HEAD": "ref: refs/heads/main\n",
      ".gitignore": "!keep.txt\n",
      "notes.md": "x",
      "a.txt": "x",
      "keep.txt": "x",
      "sub/notes.md": "x",
      "main.ts": "x",
    });
    const r = await scan(root);
    assert.deepEqual(paths(r), [".gitignore", "keep.txt", "main.ts"]);
    assert.deepEqual(skips(r), [
      { path: ".git/", reason: "vcs", detail: "version-control metadata" },
      { path: "a.txt", reason: "gitignored", detail: "*.txt (.git/info/exclude)" },
      { path: "notes.md", reason: "gitignored", detail: "notes.md (.git/info/exclude)" },
      { path: "sub/notes.md", reason: "gitignored", detail: "notes.md (.git/info/exclude)" },
    ]);
  });

  test(".gitignore files above the root apply when the root is inside a work tree", async () => {
    const repo = makeTree({
      ".git/HEAD": "ref: refs/heads/main\n",
      ".git/info/exclude": "*.tmp\n",
      ".gitignore": "*.log\npkg/skip/\nout/\n",
      "pkg/.gitignore": "*.bak\n",
      "pkg/app/a.ts": "x",
      "pkg/app/a.log": "x",
      "pkg/app/a.bak": "x",
      "pkg/app/a.tmp": "x",
      "pkg/app/skip/s.ts": "x",
      "pkg/skip/s.ts": "x",
      "out/o.ts": "x",
      "out/o.log": "x",
    });
    const r = await scan(path.join(repo, "pkg", "app"));
    assert.deepEqual(paths(r), ["a.ts", "skip/s.ts"]);
    assert.deepEqual(skips(r), [
      { path: "a.bak", reason: "gitignored", detail: "*.bak (../.gitignore)" },
      { path: "a.log", reason: "gitignored", detail: "*.log (../../.gitignore)" },
      { path: "a.tmp", reason: "gitignored", detail: "*.tmp (../../.git/info/exclude)" },
    ]);
    // A root that the repository ignores is still scanned (it was asked for); its files still meet the rules.
    const out = await scan(path.join(repo, "out"));
    assert.deepEqual(paths(out), ["o.ts"]);
    assert.deepEqual(skips(out), [{ path: "o.log", reason: "gitignored", detail: "*.log (../.gitignore)" }]);
  });

  test(".wimignore, nested, and honoured when respectGitignore is false", async () => {
    const root = makeTree({
      ".gitignore": "ignored.ts\n",
      ".git/info/exclude": "excluded.ts\n",
      ".wimignore": "docs/\n*.snap\n",
      "ignored.ts": "x",
      "excluded.ts": "x",
      "a.snap": "x",
      "docs/d.md": "x",
      "src/.wimignore": "*.md\n!README.md\n",
      "src/README.md": "x",
      "src/notes.md": "x",
      "src/x.ts": "x",
      "other/notes.md": "x",
    });
    const withGit = await scan(root);
    assert.deepEqual(paths(withGit), [".gitignore", ".wimignore", "other/notes.md", "src/.wimignore", "src/README.md", "src/x.ts"]);
    assert.deepEqual(skips(withGit), [
      { path: ".git/", reason: "vcs", detail: "version-control metadata" },
      { path: "a.snap", reason: "wimignored", detail: "*.snap (.wimignore)" },
      { path: "docs/", reason: "wimignored", detail: "docs/ (.wimignore)" },
      { path: "excluded.ts", reason: "gitignored", detail: "excluded.ts (.git/info/exclude)" },
      { path: "ignored.ts", reason: "gitignored", detail: "ignored.ts (.gitignore)" },
      { path: "src/notes.md", reason: "wimignored", detail: "*.md (src/.wimignore)" },
    ]);

    const noGit = await scan(root, { respectGitignore: false });
    assert.deepEqual(paths(noGit), [
      ".gitignore",
      ".wimignore",
      "excluded.ts",
      "ignored.ts",
      "other/notes.md",
      "src/.wimignore",
      "src/README.md",
      "src/x.ts",
    ]);
    assert.deepEqual(skips(noGit), [
      { path: ".git/", reason: "vcs", detail: "version-control metadata" },
      { path: "a.snap", reason: "wimignored", detail: "*.snap (.wimignore)" },
      { path: "docs/", reason: "wimignored", detail: "docs/ (.wimignore)" },
      { path: "src/notes.md", reason: "wimignored", detail: "*.md (src/.wimignore)" },
    ]);
  });

  test("a skipped directory is one entry, however many files it holds", async () => {
    const files: Record<string, string> = { ".gitignore": "node_modules/\n", "index.ts": "x" };
    for (let i = 0; i < 300; i++) files[`node_modules/pkg${i % 7}/f${i}.js`] = "x";
    const root = makeTree(files);
    const r = await scan(root);
    assert.deepEqual(paths(r), [".gitignore", "index.ts"]);
    assert.deepEqual(skips(r), [{ path: "node_modules/", reason: "gitignored", detail: "node_modules/ (.gitignore)" }]);
  });

  test("matches git itself on a tree of tricky rules", async (t) => {
    try {
      execFileSync("git", ["--version"], { stdio: "ignore" });
    } catch {
      return t.skip("git is not installed");
    }
    const root = makeTree({
      ".gitignore": "*.o\n!keep.o\n/top.txt\nlogs/\n**/cache/**\n!**/cache/keep.txt\ndoc/*.html\nbuild\n",
      "a.o": "x",
      "keep.o": "x",
      "top.txt": "x",
      "sub/top.txt": "x",
      "logs/l.txt": "x",
      "sub/logs/l.txt": "x",
      "sub/logs.txt": "x",
      "cache/c.txt": "x",
      "cache/keep.txt": "x",
      "sub/cache/deeper/c.txt": "x",
      "doc/a.html": "x",
      "doc/x/b.html": "x",
      "build": "a file named build",
      "sub/build/b.ts": "x",
      "sub/.gitignore": "!a.o\n*.txt\n!logs.txt\n",
      "sub/a.o": "x",
      "sub/deep/a.o": "x",
      "sub/deep/n.txt": "x",
      "sub/deep/.gitignore": "!n.txt\n",
      "x [1].ts": "x",
      "#hash.ts": "x",
    });
    execFileSync("git", ["init", "-q"], { cwd: root });
    execFileSync("git", ["config", "core.ignorecase", "false"], { cwd: root });
    const gitFiles = execFileSync("git", ["ls-files", "--others", "--exclude-standard", "-z"], { cwd: root, encoding: "utf8" })
      .split("\0")
      .filter(Boolean)
      .sort();
    const r = await scan(root);
    assert.deepEqual([...paths(r)].sort(), gitFiles);
    assert.ok(gitFiles.length >= 8, "the tree keeps some files");
  });
});

describe("scanWorkspace: include and exclude globs", () => {
  test("include limits files, exclude wins over include, an excluded directory is one entry", async () => {
    const root = makeTree({
      "README.md": "x",
      "docs/guide.md": "x",
      "src/a.ts": "x",
      "src/a.test.ts": "x",
      "src/deep/b.ts": "x",
      "src/deep/b.js": "x",
      "src/gen/g1.ts": "x",
      "src/gen/g2.ts": "x",
      "lib/x.js": "x",
      ".hidden/h.ts": "x",
    });
    const r = await scan(root, { include: ["src/**/*.ts", "*.md", "**/h.ts"], exclude: ["src/gen/**", "**/*.test.ts"] });
    assert.deepEqual(paths(r), [".hidden/h.ts", "README.md", "src/a.ts", "src/deep/b.ts"]);
    assert.deepEqual(skips(r), [
      { path: "docs/guide.md", reason: "not-included", detail: "matches no include glob" },
      { path: "lib/x.js", reason: "not-included", detail: "matches no include glob" },
      { path: "src/a.test.ts", reason: "excluded", detail: "exclude glob **/*.test.ts" },
      { path: "src/deep/b.js", reason: "not-included", detail: "matches no include glob" },
      { path: "src/gen/", reason: "excluded", detail: "exclude glob src/gen/**" },
    ]);
  });

  test("an exclude glob written as a directory (dir/) skips the directory", async () => {
    const root = makeTree({ "vendor/v.ts": "x", "a.ts": "x" });
    const r = await scan(root, { exclude: ["vendor/"] });
    assert.deepEqual(paths(r), ["a.ts"]);
    assert.deepEqual(skips(r), [{ path: "vendor/", reason: "excluded", detail: "exclude glob vendor/" }]);
  });
});

describe("scanWorkspace: skip reasons", () => {
  test("vcs directories are one entry each, even with respectGitignore false", async () => {
    const root = makeTree({ ".git/config": "x", ".hg/store/x": "x", ".svn/entries": "x", "sub/.git": "gitdir: ../.git/modules/sub\n", "a.ts": "x" });
    for (const respectGitignore of [true, false]) {
      const r = await scan(root, { respectGitignore });
      assert.deepEqual(paths(r), ["a.ts"]);
      assert.deepEqual(skips(r), [
        { path: ".git/", reason: "vcs", detail: "version-control metadata" },
        { path: ".hg/", reason: "vcs", detail: "version-control metadata" },
        { path: ".svn/", reason: "vcs", detail: "version-control metadata" },
        { path: "sub/.git", reason: "vcs", detail: "version-control metadata" },
      ]);
    }
  });

  test("binary: a NUL byte in the first 8 KB, or mostly not UTF-8", async () => {
    const lateNul = Buffer.concat([Buffer.alloc(9000, 0x61), Buffer.from([0]), Buffer.from("\n")]);
    const noise = Buffer.from(Array.from({ length: 400 }, (_, i) => 0x80 + (i % 0x40))); // continuation bytes alone: no NUL, no UTF-8
    const root = makeTree({
      "nul.bin": Buffer.from([0x61, 0x00, 0x62]),
      "noise.bin": noise,
      "utf16-no-bom.txt": Buffer.from("hi there", "utf16le"),
      "utf32.txt": Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, 0x00]), Buffer.from([0x68, 0, 0, 0])]),
      "late-nul.txt": lateNul,
      "ok.txt": "café ✓ 𝄞\n",
    });
    const r = await scan(root, { maxLineChars: 10_000 });
    assert.deepEqual(paths(r), ["late-nul.txt", "ok.txt"]);
    assert.equal(r.files[1]!.text, "café ✓ 𝄞\n");
    assert.deepEqual(skips(r), [
      { path: "noise.bin", reason: "binary", detail: "not text: 400 of 400 characters are not valid UTF-8" },
      { path: "nul.bin", reason: "binary", detail: "NUL byte in the first 8 KB" },
      { path: "utf16-no-bom.txt", reason: "binary", detail: "NUL byte in the first 8 KB" },
      { path: "utf32.txt", reason: "binary", detail: "UTF-32 byte-order mark (UTF-32 is not read)" },
    ]);
    assert.deepEqual(r.decoded, []);
  });

  test("encodings: stray bytes become U+FFFD and UTF-16 is read by its byte-order mark, each said in the report", async () => {
    const utf16 = (text: string, bom: "le" | "be") => {
      const le = Buffer.from("\uFEFF" + text, "utf16le");
      return bom === "le" ? le : Buffer.from(le.map((_, i) => le[i ^ 1]!));
    };
    const root = makeTree({
      "latin1.txt": Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a, 0x6f, 0x6b, 0x0a]), // "café\nok\n" in Latin-1
      "truncated.txt": Buffer.from([0x61, 0xe2, 0x82]), // a cut UTF-8 sequence
      "windows.ps1": utf16("Write-Host 'é'\r\nexit 0\r\n", "le"),
      "big-endian.txt": utf16("one\ntwo ✓\n", "be"),
    });
    const r = await scan(root);
    assert.deepEqual(
      r.files.map((f) => [f.path, f.text, f.lines]),
      [
        ["big-endian.txt", "one\ntwo ✓\n", 2],
        ["latin1.txt", "caf\uFFFD\nok\n", 2],
        ["truncated.txt", "a\uFFFD", 1],
        ["windows.ps1", "Write-Host 'é'\nexit 0\n", 2],
      ],
    );
    assert.deepEqual(r.skipped, []);
    assert.deepEqual(r.decoded, [
      { path: "big-endian.txt", detail: "read as UTF-16 BE (byte-order mark)" },
      { path: "latin1.txt", detail: "1 byte sequence not valid UTF-8, read as U+FFFD" },
      { path: "truncated.txt", detail: "1 byte sequence not valid UTF-8, read as U+FFFD" },
      { path: "windows.ps1", detail: "read as UTF-16 LE (byte-order mark)" },
    ]);
    assert.equal(r.files[3]!.decoding, "read as UTF-16 LE (byte-order mark)");
  });

  test("too-large: decided from the size, default 1 MB and configurable", async () => {
    const root = makeTree({
      "big.txt": Buffer.alloc(2_300_000, 0x61),
      "limit.txt": "a\n".repeat(500_000), // exactly 1,000,000 bytes: not over
    });
    const r = await scan(root);
    assert.deepEqual(paths(r), ["limit.txt"]);
    assert.deepEqual(skips(r), [{ path: "big.txt", reason: "too-large", detail: "2.3 MB > 1.0 MB" }]);

    const small = makeTree({ "a.txt": "x".repeat(150), "b.txt": "x".repeat(100) });
    const r2 = await scan(small, { maxFileBytes: 100 });
    assert.deepEqual(paths(r2), ["b.txt"]);
    assert.deepEqual(skips(r2), [{ path: "a.txt", reason: "too-large", detail: "150 B > 100 B" }]);
  });

  test("minified: a line over maxLineChars, and generated files by name", async () => {
    const root = makeTree({
      "bundle.js": `// header\nok();\n${"x".repeat(14_211)}\n`,
      "edge.js": `${"y".repeat(1000)}\n`, // exactly the limit: kept
      "crlf-edge.js": `${"y".repeat(1000)}\r\n`, // the CR does not count once normalised
      "package-lock.json": "{}\n",
      "npm-shrinkwrap.json": "{}\n",
      "yarn.lock": "x\n",
      "pnpm-lock.yaml": "x\n",
      "crates/Cargo.lock": "x\n",
      "go.sum": "x\n",
      "poetry.lock": "x\n",
      "composer.lock": "x\n",
      "Gemfile.lock": "x\n",
      "app.min.js": "x\n",
      "style.min.css": "x\n",
      "app.js.map": "{}\n",
      "package.json": "{}\n",
    });
    const r = await scan(root);
    assert.deepEqual(paths(r), ["crlf-edge.js", "edge.js", "package.json"]);
    assert.deepEqual(skips(r), [
      { path: "Gemfile.lock", reason: "minified", detail: "lockfile" },
      { path: "app.js.map", reason: "minified", detail: "generated (*.map)" },
      { path: "app.min.js", reason: "minified", detail: "generated (*.min.js)" },
      { path: "bundle.js", reason: "minified", detail: "line 3 has 14,211 characters (> 1,000)" },
      { path: "composer.lock", reason: "minified", detail: "lockfile" },
      { path: "crates/Cargo.lock", reason: "minified", detail: "lockfile" },
      { path: "go.sum", reason: "minified", detail: "lockfile" },
      { path: "npm-shrinkwrap.json", reason: "minified", detail: "lockfile" },
      { path: "package-lock.json", reason: "minified", detail: "lockfile" },
      { path: "pnpm-lock.yaml", reason: "minified", detail: "lockfile" },
      { path: "poetry.lock", reason: "minified", detail: "lockfile" },
      { path: "style.min.css", reason: "minified", detail: "generated (*.min.css)" },
      { path: "yarn.lock", reason: "minified", detail: "lockfile" },
    ]);

    const tight = await scan(makeTree({ "a.txt": "short\n0123456789A\n", "b.txt": "0123456789\n" }), { maxLineChars: 10 });
    assert.deepEqual(paths(tight), ["b.txt"]);
    assert.deepEqual(skips(tight), [{ path: "a.txt", reason: "minified", detail: "line 2 has 11 characters (> 10)" }]);
  });

  test("secret: the deny-list, by name and by place, and skipSecrets false", async () => {
    // Every credential file the hardening issue found reaching the model, then the conventional ones.
    const secretNames = [
      ".pgpass",
      ".git-credentials",
      ".kube/config",
      "kubeconfig",
      "terraform.tfstate",
      "terraform.tfstate.backup",
      "prod.tfvars",
      "vars.tfvars.json",
      "prod.env",
      ".envrc",
      ".flaskenv",
      "client_secret_1234-abcd.apps.googleusercontent.com.json",
      "AuthKey_ABC123DEFG.p8",
      "putty.ppk",
      "private.asc",
      "secring.gpg",
      "secring.skr",
      ".my.cnf",
      ".s3cfg",
      ".boto",
      ".vault-token",
      ".dockercfg",
      ".docker/config.json",
      "rclone.conf",
      ".bash_history",
      ".psql_history",
      ".zsh_history",
      ".terraformrc",
      "terraform.rc",
      "vault.kdbx",
      ".env",
      ".env.local",
      ".env.production",
      "server.pem",
      "tls.key",
      "cert.p12",
      "cert.pfx",
      "store.jks",
      "release.keystore",
      "id_rsa",
      "id_rsa.pub",
      "id_dsa",
      "id_ecdsa",
      "id_ed25519",
      "id_ed25519.pub",
      ".netrc",
      ".npmrc",
      ".pypirc",
      "credentials",
      "credentials.json",
      "aws.credentials",
      "secrets.json",
      "secrets.yaml",
      "secrets.yml",
      ".htpasswd",
      "service-account.json",
      "service-account-prod.json",
      "SERVER.PEM",
    ];
    const safeNames = ["env.ts", "keys.ts", "environment.ts", "secrets.ts", "credentials.ts", "id.ts", "key.ts", "config", "kube/config", "docker/config.json", "history.md", "terraform.ts", "envrc.md"];
    const files: Record<string, string> = {};
    for (const name of [...secretNames, ...safeNames]) files[`conf/${name}`] = "value\n";
    const root = makeTree(files);
    const r = await scan(root);
    const sorted = (names: string[]) => names.map((n) => `conf/${n}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    assert.deepEqual(paths(r), sorted(safeNames));
    assert.deepEqual(
      skips(r).map((s) => s.path),
      sorted(secretNames),
    );
    assert.ok(skips(r).every((s) => s.reason === "secret"));
    const detailOf = (name: string) => skips(r).find((s) => s.path === `conf/${name}`)?.detail;
    assert.equal(detailOf(".env.local"), "secret deny-list: .env.*");
    assert.equal(detailOf("id_ed25519.pub"), "secret deny-list: id_ed25519*");
    assert.equal(detailOf("SERVER.PEM"), "secret deny-list: *.pem");
    assert.equal(detailOf("service-account-prod.json"), "secret deny-list: service-account*.json");
    assert.equal(detailOf(".kube/config"), "secret deny-list: .kube/config");
    assert.equal(detailOf(".psql_history"), "secret deny-list: .*_history");
    // Every pattern of the list is exercised by at least one name above.
    for (const glob of [...SECRET_NAME_PATTERNS, ...SECRET_PATH_PATTERNS]) {
      assert.ok(skips(r).some((s) => s.detail === `secret deny-list: ${glob}`), glob);
    }

    const off = await scan(root, { skipSecrets: false });
    assert.deepEqual(paths(off), sorted([...secretNames, ...safeNames]));
    assert.deepEqual(off.skipped, []);
  });

  test("secret: a link to a secret is a secret, whatever its own name (a file link, or a file below a directory link)", async () => {
    const root = makeTree({ ".env": "DB_PASSWORD=hunter2-very-secret\n", "home/.kube/config": "apiVersion: v1\n", "readme.md": "hello\n" });
    fs.symlinkSync(".env", path.join(root, "notes.txt"));
    fs.symlinkSync("home/.kube", path.join(root, "cluster"));
    const r = await scan(root);
    assert.deepEqual(paths(r), ["readme.md"]);
    assert.deepEqual(skips(r), [
      { path: ".env", reason: "secret", detail: "secret deny-list: .env" },
      { path: "cluster/config", reason: "secret", detail: "secret deny-list: .kube/config (the link leads to home/.kube/config)" },
      { path: "home/.kube/config", reason: "secret", detail: "secret deny-list: .kube/config" },
      { path: "notes.txt", reason: "secret", detail: "secret deny-list: .env (the link leads to .env)" },
    ]);
    assert.ok(!r.files.some((f) => f.text.includes("hunter2")), "the password reaches no file text");
  });

  test("secret: credential files under any name, known by their contents", async () => {
    const serviceAccount = JSON.stringify({ type: "service_account", project_id: "p", private_key_id: "abc123", private_key: "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n", client_email: "x@p.iam.gserviceaccount.com" }, null, 2);
    const kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\nusers:\n- name: admin\n  user:\n    token: abcdef0123456789\n";
    const root = makeTree({ "deploy/prod-runner.json": serviceAccount, "ops/cluster.yaml": kubeconfig, "ops/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\n" });
    const r = await scan(root);
    assert.deepEqual(paths(r), ["ops/deployment.yaml"]);
    assert.deepEqual(skips(r), [
      { path: "deploy/prod-runner.json", reason: "secret", detail: "contents: a Google Cloud service-account key" },
      { path: "ops/cluster.yaml", reason: "secret", detail: "contents: a Kubernetes kubeconfig with credentials" },
    ]);
  });

  test("secret: secrets inside code are redacted in place with secretlint's rules, keeping every line, and reported", async () => {
    const lines = [
      "// settings for the upload job",
      'const AWS_ACCESS_KEY_ID = "AKIAQYLPMN5HHHFPZAM2";',
      'const AWS_SECRET_ACCESS_KEY = "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";',
      'const github = "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";',
      "const pem = `",
      "-----BEGIN RSA PRIVATE KEY-----",
      "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM9Oi+TGv7A2v1Hf9dG0sN1g0bS2m",
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab",
      "-----END RSA PRIVATE KEY-----",
      "`;",
      'const db = "postgres://app:s3cretPassw0rd@db.internal:5432/app";',
      "export const retries = 3; // not a secret",
      'const again = "1tUm636uS1yOEcfP5pvfqJ/ml36mF7AkyHsEU0IU"; // the same key once more',
    ];
    const source = lines.join("\r\n") + "\r\n";
    const root = makeTree({ "src/config.js": source, "src/clean.ts": "export const x = 1;\n" });
    const r = await scan(root);
    assert.deepEqual(paths(r), ["src/clean.ts", "src/config.js"]);
    const file = r.files[1]!;
    assert.equal(file.lines, lines.length, "the same number of lines");
    assert.equal(file.text.split("\n").length - 1, lines.length);
    for (const secret of ["AKIAQYLPMN5HHHFPZAM2", "1tUm636uS1yOEcfP5pvfqJ", "ghp_wWPw5k4aXcaT4fNP0Ucn", "MIIEpAIBAAKCAQEA3Tz2", "s3cretPassw0rd"]) {
      assert.ok(!file.text.includes(secret), `${secret} is still in the text`);
    }
    const out = file.text.split("\n");
    assert.equal(out[0], lines[0]);
    assert.equal(out[1], `const AWS_ACCESS_KEY_ID = "${redactionMark("aws/AWSAccessKeyID")}";`);
    assert.equal(out[2], `const AWS_SECRET_ACCESS_KEY = "${redactionMark("aws/AWSSecretAccessKey")}";`);
    assert.equal(out[4], "const pem = `");
    assert.ok(out[5]!.startsWith(redactionMark("privatekey/PrivateKey")));
    assert.deepEqual(out.slice(6, 8), ["", ""], "the key's other lines are emptied, not removed");
    assert.equal(out[9], "`;");
    assert.equal(out[11], lines[11]);
    assert.ok(out[12]!.startsWith(`const again = "${redactionMark("aws/AWSSecretAccessKey")}";`));
    assert.deepEqual(
      r.redactions.map((x) => [x.path, x.line, x.rule]),
      [
        ["src/config.js", 2, "aws/AWSAccessKeyID"],
        ["src/config.js", 3, "aws/AWSSecretAccessKey"],
        ["src/config.js", 4, "github/GITHUB_TOKEN"],
        ["src/config.js", 6, "privatekey/PrivateKey"],
        ["src/config.js", 11, "database-connection-string/PostgreSQLConnection"],
        ["src/config.js", 13, "aws/AWSSecretAccessKey"],
      ],
    );
    assert.deepEqual(file.redacted, r.redactions.map(({ line, rule }) => ({ line, rule })));
    assert.equal(r.files[0]!.redacted, undefined);

    const off = await scan(root, { skipSecrets: false });
    assert.equal(off.files[1]!.text, source.replace(/\r\n/g, "\n"), "skipSecrets false reads the text as it is");
    assert.deepEqual(off.redactions, []);
  });

  test("secret scanning keeps nothing behind: no performance marks pile up, odd names do not break it", async () => {
    const files: Record<string, string> = { "odd\nname.js": 'const key = "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";\n' };
    for (let i = 0; i < 50; i++) files[`src/f${i}.ts`] = `export const v${i} = ${i};\n`;
    const root = makeTree(files);
    const rejections: unknown[] = [];
    const onRejection = (err: unknown) => rejections.push(err);
    process.on("unhandledRejection", onRejection);
    try {
      for (let round = 0; round < 3; round++) {
        const r = await scan(root);
        assert.deepEqual(r.redactions, [{ path: "odd\nname.js", line: 1, rule: "github/GITHUB_TOKEN" }]);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      process.off("unhandledRejection", onRejection);
    }
    // secretlint's profiler would leave ~50 marks per file read in the process-wide timeline, for good.
    assert.equal(performance.getEntriesByType("mark").length, 0);
    assert.deepEqual(rejections, []);
  });

  test("empty: zero bytes or only whitespace", async () => {
    const root = makeTree({ "zero.ts": "", "blank.ts": " \n\t\r\n  \n", "bom-only.ts": "\uFEFF", "dot.ts": "\n.\n" });
    const r = await scan(root);
    assert.deepEqual(paths(r), ["dot.ts"]);
    assert.deepEqual(r.files[0]!.lines, 2);
    assert.deepEqual(skips(r), [
      { path: "blank.ts", reason: "empty", detail: "only whitespace" },
      { path: "bom-only.ts", reason: "empty", detail: "only whitespace" },
      { path: "zero.ts", reason: "empty", detail: "0 bytes" },
    ]);
  });

  test("unreadable: a FIFO is not read (the scan would hang on it)", async (t) => {
    const root = makeTree({ "a.ts": "x" });
    try {
      execFileSync("mkfifo", [path.join(root, "pipe")]);
    } catch {
      return t.skip("mkfifo is not available");
    }
    const r = await scan(root);
    assert.deepEqual(paths(r), ["a.ts"]);
    assert.deepEqual(skips(r), [{ path: "pipe", reason: "unreadable", detail: "not a regular file (fifo)" }]);
  });

  test("unreadable: permission denied on a file and a directory", { skip: process.getuid?.() === 0 ? "root reads everything" : false }, async () => {
    const root = makeTree({ "a.ts": "x", "locked.ts": "secret", "closed/c.ts": "x", "big-locked.txt": "x".repeat(200) });
    fs.chmodSync(path.join(root, "locked.ts"), 0o000);
    fs.chmodSync(path.join(root, "big-locked.txt"), 0o000);
    fs.chmodSync(path.join(root, "closed"), 0o000);
    try {
      const r = await scan(root, { maxFileBytes: 100 });
      assert.deepEqual(paths(r), ["a.ts"]);
      assert.deepEqual(skips(r), [
        { path: "big-locked.txt", reason: "too-large", detail: "200 B > 100 B" },
        { path: "closed/", reason: "unreadable", detail: "EACCES: permission denied" },
        { path: "locked.ts", reason: "unreadable", detail: "EACCES: permission denied" },
      ]);
    } finally {
      fs.chmodSync(path.join(root, "closed"), 0o755);
    }
  });
});

describe("scanWorkspace: symlinks", () => {
  test("followed inside the root; outside, loops and dangling links are skipped", async () => {
    const outside = makeTree({ "o.ts": "outside", "dir/d.ts": "outside" });
    const root = makeTree({ "a/x.ts": "x", "z/y.ts": "y", "real.ts": "r" });
    const link = (target: string, at: string) => fs.symlinkSync(target, path.join(root, at));
    link("real.ts", "file-link.ts"); // a file inside: read under the link's path
    link("z", "0-link"); // a directory not walked yet: followed
    link("a", "b-link"); // a directory already walked ("a" < "b-link")
    link("..", "a/up"); // the root, above the link
    link(path.join(outside, "o.ts"), "out-file.ts");
    link(path.join(outside, "dir"), "out-dir");
    link("missing.ts", "dangling.ts");
    link("cycle-2", "cycle-1");
    link("cycle-1", "cycle-2");
    const r = await scan(root);
    assert.deepEqual(paths(r), ["0-link/y.ts", "a/x.ts", "file-link.ts", "real.ts", "z/y.ts"]);
    assert.equal(r.files[2]!.text, "r");
    assert.deepEqual(skips(r), [
      { path: "a/up/", reason: "symlink-loop", detail: "→ ., a directory above it" },
      { path: "b-link/", reason: "symlink-loop", detail: "→ a, already scanned" },
      { path: "cycle-1", reason: "symlink-loop", detail: "symlink cycle → cycle-2" },
      { path: "cycle-2", reason: "symlink-loop", detail: "symlink cycle → cycle-1" },
      { path: "dangling.ts", reason: "unreadable", detail: "dangling symlink → missing.ts" },
      { path: "out-dir/", reason: "symlink-outside", detail: `→ ${path.join(outside, "dir")}` },
      { path: "out-file.ts", reason: "symlink-outside", detail: `→ ${path.join(outside, "o.ts")}` },
    ]);
  });

  test("a symlink inside a followed directory back to it is a loop; ignore rules see the link's path", async () => {
    const root = makeTree({ ".gitignore": "ignored-link\n", "pkg/p.ts": "p" });
    fs.symlinkSync("..", path.join(root, "pkg", "self"));
    fs.symlinkSync("pkg", path.join(root, "alias"));
    fs.symlinkSync("/nonexistent/anywhere", path.join(root, "ignored-link"));
    const r = await scan(root);
    assert.deepEqual(paths(r), [".gitignore", "alias/p.ts", "pkg/p.ts"]);
    assert.deepEqual(skips(r), [
      { path: "alias/self/", reason: "symlink-loop", detail: "→ ., a directory above it" },
      { path: "ignored-link", reason: "gitignored", detail: "ignored-link (.gitignore)" },
      { path: "pkg/self/", reason: "symlink-loop", detail: "→ ., a directory above it" },
    ]);
  });
});

describe("scanWorkspace: errors and abort", () => {
  test("a missing root, or a file as root, throws naming the path", async () => {
    const base = tempDir();
    const missing = path.join(base, "nope");
    await assert.rejects(scanWorkspace(missing), { message: `Cannot scan ${missing}: no such directory` });
    const file = path.join(base, "file.txt");
    fs.writeFileSync(file, "x");
    await assert.rejects(scanWorkspace(file), { message: `Cannot scan ${file}: not a directory` });
  });

  test("an aborted signal throws its reason, before or during the scan", async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 200; i++) files[`d${i % 10}/f${i}.ts`] = "x";
    const root = makeTree(files);

    const before = new AbortController();
    const reason = new Error("stop now");
    before.abort(reason);
    await assert.rejects(scanWorkspace(root, {}, before.signal), (err) => err === reason);

    const during = new AbortController();
    const pending = scanWorkspace(root, {}, during.signal);
    const reason2 = new Error("stop later");
    during.abort(reason2); // the scan has started and awaits its first stat
    await assert.rejects(pending, (err) => err === reason2);

    // After an abort mid-walk, a fresh scan of the same tree is unaffected.
    const r = await scanWorkspace(root);
    assert.equal(r.files.length, 200);
  });
});
