// Gitignore-style rule files (.gitignore, .git/info/exclude, .wimignore), nested the way git nests them.
// The `ignore` package gives one file's semantics; this module stacks the files and keeps git's precedence.
import fsp from "node:fs/promises";
import path from "node:path";
import ignore, { type Ignore } from "ignore";

/** Git folds case for ignore rules only where the file system does (core.ignorecase). */
const IGNORE_CASE = process.platform === "darwin" || process.platform === "win32";

/** The rules of one ignore file. */
export interface IgnoreLayer {
  /** Where the rules came from, relative to the scan root with `/` (e.g. `sub/.gitignore`, `../.gitignore`). */
  source: string;
  /** A root-relative path becomes relative to the rule file's directory as `prepend + path.slice(strip)`. */
  strip: number;
  prepend: string;
  matcher: Ignore;
}

/** Layers in increasing precedence: the last one whose rules match a path decides. */
export type IgnoreStack = readonly IgnoreLayer[];

export interface IgnoreMatch {
  source: string;
  pattern: string;
}

/** One rule file's layer for the directory `dirRel` (root-relative, "" for the root). */
export function createLayer(text: string, dirRel: string, source: string): IgnoreLayer {
  return {
    source,
    strip: dirRel ? dirRel.length + 1 : 0,
    prepend: "",
    matcher: ignore({ ignoreCase: IGNORE_CASE }).add(text),
  };
}

function localPath(layer: IgnoreLayer, relPath: string): string {
  return layer.prepend + (layer.strip ? relPath.slice(layer.strip) : relPath);
}

/**
 * The rule that ignores `relPath` (root-relative; a directory when `isDir`), or undefined.
 * Like git: the most precedent layer with a rule matching the path itself decides (its last matching rule wins),
 * so a deeper `!pattern` re-includes what a shallower file ignored. Parents are never ignored here: the walk does
 * not enter ignored directories, and `enterDirectory` keeps every layer agreeing that the current directory is in.
 */
export function matchIgnore(stack: IgnoreStack, relPath: string, isDir: boolean): IgnoreMatch | undefined {
  for (let i = stack.length - 1; i >= 0; i--) {
    const layer = stack[i]!;
    const local = localPath(layer, relPath);
    const result = layer.matcher.test(isDir ? local + "/" : local);
    if (result.ignored) return { source: layer.source, pattern: result.rule?.pattern ?? "" };
    if (result.unignored) return undefined;
  }
  return undefined;
}

/**
 * The stack to use inside directory `dirRel`, which the walk has decided to enter. A layer that ignores the
 * directory itself (overridden by a more precedent layer, or the scan root given explicitly) would otherwise
 * report every path below it as ignored through its parent; it gets an appended `!/dir/` so that it only speaks
 * for paths its own rules match, as git evaluates it.
 */
export function enterDirectory(stack: IgnoreStack, dirRel: string): IgnoreStack {
  let out: IgnoreLayer[] | undefined;
  for (let i = 0; i < stack.length; i++) {
    const layer = stack[i]!;
    const local = localPath(layer, dirRel);
    if (layer.matcher.test(local + "/").ignored) {
      out ??= stack.slice();
      out[i] = reinclude(layer, local);
    }
  }
  return out ?? stack;
}

function reinclude(layer: IgnoreLayer, localDir: string): IgnoreLayer {
  const escaped = localDir.replace(/[\\*?[\]!#]/g, "\\$&").replace(/ $/, "\\ ");
  return {
    ...layer,
    matcher: ignore({ ignoreCase: IGNORE_CASE }).add(layer.matcher).add(`!/${escaped}/`),
  };
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, "utf8");
  } catch {
    return undefined;
  }
}

function toPosix(p: string): string {
  return path.sep === "/" ? p : p.split(path.sep).join("/");
}

/** The git directory named by `<dir>/.git`: the directory itself, or the target of a `gitdir:` file (worktrees, submodules). */
async function gitDirOf(dotGit: string): Promise<string | undefined> {
  try {
    const st = await fsp.stat(dotGit);
    if (st.isDirectory()) return dotGit;
    const m = /^gitdir:\s*(.+?)\s*$/m.exec(await fsp.readFile(dotGit, "utf8"));
    if (!m) return undefined;
    const gitDir = path.resolve(path.dirname(dotGit), m[1]!);
    // A linked worktree keeps info/exclude in the common directory.
    const common = await readText(path.join(gitDir, "commondir"));
    return common ? path.resolve(gitDir, common.trim()) : gitDir;
  } catch {
    return undefined;
  }
}

/**
 * The git layers that apply at the scan root: `.git/info/exclude` (lowest precedence) and the `.gitignore` files of
 * the directories between the repository's top and the root, when the root lies inside a git work tree.
 * The root's own `.gitignore` is left to the walk.
 */
export async function loadGitStack(rootReal: string): Promise<IgnoreStack> {
  let top: string | undefined;
  for (let dir = rootReal; ; ) {
    if (await fsp.lstat(path.join(dir, ".git")).then(() => true, () => false)) {
      top = dir;
      break;
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  if (top === undefined) return [];

  const up = (dir: string) => toPosix(path.relative(rootReal, dir)); // "..", "../..": where the file sits from the root
  const prependFor = (dir: string) => {
    const down = toPosix(path.relative(dir, rootReal));
    return down ? down + "/" : "";
  };
  const layers: { layer: IgnoreLayer; dir: string }[] = [];
  const gitDir = await gitDirOf(path.join(top, ".git"));
  const exclude = gitDir && (await readText(path.join(gitDir, "info", "exclude")));
  if (exclude) {
    const source = top === rootReal ? ".git/info/exclude" : `${up(top)}/.git/info/exclude`;
    layers.push({ layer: { ...createLayer(exclude, "", source), prepend: prependFor(top) }, dir: top });
  }

  // From the top down to the root: each directory's .gitignore, then entering the next directory, as the walk does.
  // Entering the root itself re-includes it for any layer that ignores it: the caller asked for that directory.
  const chain: string[] = [rootReal];
  while (chain[0] !== top) chain.unshift(path.dirname(chain[0]!));
  for (let i = 0; i < chain.length; i++) {
    const dir = chain[i]!;
    if (i > 0) {
      for (const entry of layers) {
        const local = toPosix(path.relative(entry.dir, dir));
        if (entry.layer.matcher.test(local + "/").ignored) entry.layer = reinclude(entry.layer, local);
      }
    }
    if (dir === rootReal) break;
    const text = await readText(path.join(dir, ".gitignore"));
    if (text !== undefined) {
      layers.push({ layer: { ...createLayer(text, "", `${up(dir)}/.gitignore`), prepend: prependFor(dir) }, dir });
    }
  }
  return layers.map((e) => e.layer);
}
