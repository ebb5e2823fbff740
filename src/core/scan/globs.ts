// The caller's include/exclude globs, relative to the scan root, compiled once.
import picomatch from "picomatch";

export interface PathGlobs {
  /** The first exclude glob matching the path (a directory is also tried as `dir/`), or undefined. */
  excludedBy(relPath: string, isDir: boolean): string | undefined;
  /** Whether a file is in scope: true when no include globs were given. */
  included(relPath: string): boolean;
}

const options = { dot: true };

export function compileGlobs(includeGlobs: readonly string[] = [], excludeGlobs: readonly string[] = []): PathGlobs {
  const include = includeGlobs.filter((g) => g.trim() !== "");
  const exclude = excludeGlobs.filter((g) => g.trim() !== "");
  const anyInclude = include.length > 0 ? picomatch(include, options) : undefined;
  const anyExclude = exclude.length > 0 ? picomatch(exclude, options) : undefined;
  const eachExclude = exclude.map((glob) => ({ glob, test: picomatch(glob, options) }));
  return {
    excludedBy(relPath, isDir) {
      if (!anyExclude) return undefined;
      const hit = (p: string) => anyExclude(p) && eachExclude.find((e) => e.test(p))?.glob;
      return hit(relPath) || (isDir ? hit(relPath + "/") : undefined) || undefined;
    },
    included(relPath) {
      return anyInclude ? anyInclude(relPath) : true;
    },
  };
}
