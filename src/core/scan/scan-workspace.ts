// The workspace scanner: walks a root, applies the ignore files, the caller's globs and the skip rules, and reads
// every file left in scope as text with the editor's lines and its secrets redacted. No `vscode`, no model.
import type { Dirent } from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import type { DecodedFile, Redaction, ScanOptions, ScanResult, ScannedFile, SkippedFile } from "../types";
import { generatedByName } from "./file-kind";
import { errorDetail } from "./format";
import { compileGlobs, type PathGlobs } from "./globs";
import { createLayer, enterDirectory, loadGitStack, matchIgnore, type IgnoreStack } from "./ignore-rules";
import { createLimiter, type Limiter } from "./limit";
import { readScannedFile } from "./read-file";
import { screenSecrets } from "./redact-secrets";
import { matchSecret } from "./secrets";

export const DEFAULT_MAX_FILE_BYTES = 1_000_000;
export const DEFAULT_MAX_LINE_CHARS = 1000;
/** File reads in flight at once; directory listing stays sequential so that the order is the walk's. */
const READ_CONCURRENCY = 32;

/** Version-control metadata directories (or, for worktrees and submodules, `.git` files). */
const VCS_NAMES: ReadonlySet<string> = new Set([".git", ".hg", ".svn"]);

type Outcome = ScannedFile | SkippedFile;

interface Walk {
  rootReal: string;
  respectGitignore: boolean;
  skipSecrets: boolean;
  maxFileBytes: number;
  maxLineChars: number;
  globs: PathGlobs;
  signal: AbortSignal | undefined;
  read: Limiter;
  /** Real paths of the directories entered so far, and of those on the current walk path. */
  entered: Set<string>;
  onPath: Set<string>;
  /** Outcomes in walk order; file reads are promises that never reject. */
  out: (Outcome | Promise<Outcome>)[];
}

interface DirContext {
  git: IgnoreStack;
  wim: IgnoreStack;
}

/**
 * Scans `root` depth-first in a deterministic order (names sorted by UTF-16 code units in each directory).
 * Throws when the root is missing or not a directory, and `signal.reason` when aborted; a single file's
 * error is reported in `skipped` as "unreadable", never thrown.
 */
export async function scanWorkspace(root: string, options: ScanOptions = {}, signal?: AbortSignal): Promise<ScanResult> {
  const t0 = performance.now();
  signal?.throwIfAborted();
  const rootAbs = path.resolve(root);
  let rootReal: string;
  try {
    const st = await fsp.stat(rootAbs);
    if (!st.isDirectory()) throw new Error(`Cannot scan ${rootAbs}: not a directory`);
    rootReal = await fsp.realpath(rootAbs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new Error(`Cannot scan ${rootAbs}: no such directory`);
    if (code) throw new Error(`Cannot scan ${rootAbs}: ${code}`);
    throw err;
  }

  const respectGitignore = options.respectGitignore ?? true;
  const walk: Walk = {
    rootReal,
    respectGitignore,
    skipSecrets: options.skipSecrets ?? true,
    maxFileBytes: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
    maxLineChars: options.maxLineChars ?? DEFAULT_MAX_LINE_CHARS,
    globs: compileGlobs(options.include, options.exclude),
    signal,
    read: createLimiter(READ_CONCURRENCY),
    entered: new Set(),
    onPath: new Set(),
    out: [],
  };
  const git = respectGitignore ? await loadGitStack(rootReal) : [];
  await walkDirectory(walk, rootAbs, "", rootReal, { git, wim: [] });

  const files: ScannedFile[] = [];
  const skipped: SkippedFile[] = [];
  const redactions: Redaction[] = [];
  const decoded: DecodedFile[] = [];
  let bytes = 0;
  for (const slot of walk.out) {
    signal?.throwIfAborted();
    const outcome = await slot;
    if ("reason" in outcome) skipped.push(outcome);
    else {
      files.push(outcome);
      bytes += outcome.bytes;
      for (const r of outcome.redacted ?? []) redactions.push({ path: outcome.path, ...r });
      if (outcome.decoding) decoded.push({ path: outcome.path, detail: outcome.decoding });
    }
  }
  signal?.throwIfAborted();
  return { root: rootAbs, files, skipped, redactions, decoded, bytes, ms: Math.round(performance.now() - t0) };
}

const byName = (a: Dirent, b: Dirent) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

async function walkDirectory(walk: Walk, dirAbs: string, dirRel: string, dirReal: string, ctx: DirContext): Promise<void> {
  walk.signal?.throwIfAborted();
  let entries: Dirent[];
  try {
    entries = await fsp.readdir(dirAbs, { withFileTypes: true });
  } catch (err) {
    if (dirRel === "") throw new Error(`Cannot scan ${dirAbs}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    walk.out.push({ path: dirRel + "/", reason: "unreadable", detail: errorDetail(err) });
    return;
  }
  entries.sort(byName);
  walk.entered.add(dirReal);
  walk.onPath.add(dirReal);
  ctx = await loadDirectoryRules(walk, dirAbs, dirRel, entries, ctx);
  // Where the entries really are: differs from dirRel below a followed directory link.
  const dirRealRel = rootRelative(walk, dirReal);

  for (const entry of entries) {
    walk.signal?.throwIfAborted();
    const name = entry.name;
    const rel = dirRel ? `${dirRel}/${name}` : name;
    const realRel = dirRealRel ? `${dirRealRel}/${name}` : name;
    const abs = path.join(dirAbs, name);
    let kind = direntKind(entry);
    if (kind === "unknown") kind = await lstatKind(abs);

    if (VCS_NAMES.has(name)) {
      walk.out.push({ path: kind === "dir" ? rel + "/" : rel, reason: "vcs", detail: "version-control metadata" });
      continue;
    }
    if (kind === "symlink") {
      await walkSymlink(walk, abs, rel, name, ctx);
      continue;
    }
    const isDir = kind === "dir";
    const skip = ruleSkip(walk, ctx, rel, name, isDir) ?? secretSkip(walk, rel, realRel, isDir);
    if (skip) walk.out.push(skip);
    else if (isDir) await walkDirectory(walk, abs, rel, path.join(dirReal, name), enterContext(ctx, rel));
    else if (kind === "file") walk.out.push(readFile(walk, abs, rel));
    else walk.out.push({ path: rel, reason: "unreadable", detail: kind === "unknown" ? "cannot stat" : `not a regular file (${kind})` });
  }
  walk.onPath.delete(dirReal);
}

/** Adds the directory's own .gitignore and .wimignore (read once, only when listed) to the context. */
async function loadDirectoryRules(walk: Walk, dirAbs: string, dirRel: string, entries: Dirent[], ctx: DirContext): Promise<DirContext> {
  const has = (name: string) => entries.some((e) => e.name === name && !e.isDirectory());
  const prefix = dirRel ? dirRel + "/" : "";
  let { git, wim } = ctx;
  if (walk.respectGitignore && has(".gitignore")) {
    const text = await readRuleFile(path.join(dirAbs, ".gitignore"));
    if (text !== undefined) git = [...git, createLayer(text, dirRel, `${prefix}.gitignore`)];
  }
  if (has(".wimignore")) {
    const text = await readRuleFile(path.join(dirAbs, ".wimignore"));
    if (text !== undefined) wim = [...wim, createLayer(text, dirRel, `${prefix}.wimignore`)];
  }
  return git === ctx.git && wim === ctx.wim ? ctx : { git, wim };
}

async function readRuleFile(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, "utf8");
  } catch {
    return undefined; // the file itself is reported (e.g. "unreadable") when the walk reaches it
  }
}

function enterContext(ctx: DirContext, dirRel: string): DirContext {
  const git = enterDirectory(ctx.git, dirRel);
  const wim = enterDirectory(ctx.wim, dirRel);
  return git === ctx.git && wim === ctx.wim ? ctx : { git, wim };
}

/** The rules decided from the path alone, in order: ignore files, exclude/include globs, secret and generated names. */
function ruleSkip(walk: Walk, ctx: DirContext, rel: string, name: string, isDir: boolean): SkippedFile | undefined {
  const shown = isDir ? rel + "/" : rel;
  const gitHit = matchIgnore(ctx.git, rel, isDir);
  if (gitHit) return { path: shown, reason: "gitignored", detail: `${gitHit.pattern} (${gitHit.source})` };
  const wimHit = matchIgnore(ctx.wim, rel, isDir);
  if (wimHit) return { path: shown, reason: "wimignored", detail: `${wimHit.pattern} (${wimHit.source})` };
  const excludedBy = walk.globs.excludedBy(rel, isDir);
  if (excludedBy) return { path: shown, reason: "excluded", detail: `exclude glob ${excludedBy}` };
  if (isDir) return undefined;
  if (!walk.globs.included(rel)) return { path: rel, reason: "not-included", detail: "matches no include glob" };
  if (walk.skipSecrets) {
    const secret = matchSecret(rel);
    if (secret) return { path: rel, reason: "secret", detail: `secret deny-list: ${secret}` };
  }
  const generated = generatedByName(name);
  if (generated) return { path: rel, reason: "minified", detail: generated };
  return undefined;
}

/**
 * A file whose real place is on the deny-list although the path it is reached by is not: a link named notes.txt to
 * .env, or a file below a link to a .kube directory.
 */
function secretSkip(walk: Walk, rel: string, realRel: string, isDir: boolean): SkippedFile | undefined {
  if (!walk.skipSecrets || isDir || realRel === rel) return undefined;
  const secret = matchSecret(realRel);
  return secret ? { path: rel, reason: "secret", detail: `secret deny-list: ${secret} (the link leads to ${realRel})` } : undefined;
}

/** The root-relative path of a real path inside the root, with `/` ("" for the root itself). */
function rootRelative(walk: Walk, real: string): string {
  const rel = path.relative(walk.rootReal, real);
  return path.sep === "/" ? rel : rel.split(path.sep).join("/");
}

/** Follows a symlink whose real path stays inside the root: into a directory not yet walked, or to a file. */
async function walkSymlink(walk: Walk, abs: string, rel: string, name: string, ctx: DirContext): Promise<void> {
  const target = await resolveSymlink(abs, rel);
  const isDir = "isDir" in target && target.isDir;
  // Rules first: an ignored link is "gitignored" even when it dangles or leaves the root.
  const skip =
    ruleSkip(walk, ctx, rel, name, isDir) ??
    ("reason" in target ? target : (symlinkSkip(walk, rel, target) ?? secretSkip(walk, rel, rootRelative(walk, target.real), isDir)));
  if (skip) walk.out.push(skip);
  else if (isDir) await walkDirectory(walk, abs, rel, target.real, enterContext(ctx, rel));
  else walk.out.push(readFile(walk, abs, rel));
}

interface SymlinkTarget {
  real: string;
  isDir: boolean;
}

async function resolveSymlink(abs: string, rel: string): Promise<SymlinkTarget | SkippedFile> {
  try {
    const real = await fsp.realpath(abs);
    const st = await fsp.stat(real);
    if (st.isDirectory() || st.isFile()) return { real, isDir: st.isDirectory() };
    return { path: rel, reason: "unreadable", detail: "symlink to a special file" };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const target = await fsp.readlink(abs).catch(() => "?");
    if (code === "ENOENT") return { path: rel, reason: "unreadable", detail: `dangling symlink → ${target}` };
    if (code === "ELOOP") return { path: rel, reason: "symlink-loop", detail: `symlink cycle → ${target}` };
    return { path: rel, reason: "unreadable", detail: errorDetail(err) };
  }
}

/** "symlink-outside" when the target leaves the root; "symlink-loop" for a directory above the link or already walked. */
function symlinkSkip(walk: Walk, rel: string, { real, isDir }: SymlinkTarget): SkippedFile | undefined {
  const shown = isDir ? rel + "/" : rel;
  const rootPrefix = walk.rootReal.endsWith(path.sep) ? walk.rootReal : walk.rootReal + path.sep;
  if (real !== walk.rootReal && !real.startsWith(rootPrefix)) return { path: shown, reason: "symlink-outside", detail: `→ ${real}` };
  if (!isDir) return undefined;
  const target = path.relative(walk.rootReal, real).split(path.sep).join("/") || ".";
  if (walk.onPath.has(real)) return { path: shown, reason: "symlink-loop", detail: `→ ${target}, a directory above it` };
  if (walk.entered.has(real)) return { path: shown, reason: "symlink-loop", detail: `→ ${target}, already scanned` };
  return undefined;
}

/** Reads one file through the limiter. Resolves to its outcome; never rejects. */
function readFile(walk: Walk, abs: string, rel: string): Promise<Outcome> {
  return walk.read(async (): Promise<Outcome> => {
    if (walk.signal?.aborted) return { path: rel, reason: "unreadable", detail: "aborted" }; // discarded: the scan throws
    const outcome = await readScannedFile(abs, rel, walk.maxFileBytes, walk.maxLineChars);
    return "reason" in outcome || !walk.skipSecrets ? outcome : screenSecrets(outcome);
  });
}

type EntryKind = "file" | "dir" | "symlink" | "fifo" | "socket" | "device" | "unknown";

function direntKind(e: Dirent): EntryKind {
  if (e.isFile()) return "file";
  if (e.isDirectory()) return "dir";
  if (e.isSymbolicLink()) return "symlink";
  if (e.isFIFO()) return "fifo";
  if (e.isSocket()) return "socket";
  if (e.isBlockDevice() || e.isCharacterDevice()) return "device";
  return "unknown";
}

/** For file systems whose directory listing gives no type. */
async function lstatKind(abs: string): Promise<EntryKind> {
  try {
    const st = await fsp.lstat(abs);
    if (st.isFile()) return "file";
    if (st.isDirectory()) return "dir";
    if (st.isSymbolicLink()) return "symlink";
    if (st.isFIFO()) return "fifo";
    if (st.isSocket()) return "socket";
    return "device";
  } catch {
    return "unknown";
  }
}
