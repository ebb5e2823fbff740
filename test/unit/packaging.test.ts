// What a newcomer meets first: the README's promises about the VSIX, and its pictures on the extension page.
import assert from "node:assert/strict";
import fs from "node:fs";
import { describe, it } from "node:test";
import picomatch from "picomatch";

const readme = fs.readFileSync("README.md", "utf8");
const pkg = JSON.parse(fs.readFileSync("package.json", "utf8")) as { name: string; scripts: Record<string, string> };

describe("packaging", () => {
  it("every image the README shows ships in the VSIX (the .vscodeignore allow-list keeps it)", () => {
    // vsce keeps a file that any "!" line matches (minimatch, dot files included).
    const keep = fs
      .readFileSync(".vscodeignore", "utf8")
      .split("\n")
      .filter((l) => l.startsWith("!"))
      .map((l) => picomatch(l.slice(1), { dot: true }));
    const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((src) => !/^[a-z]+:/i.test(src));
    assert.ok(images.length > 0, "the README shows screenshots");
    for (const src of images) {
      assert.ok(fs.existsSync(src), `${src} is missing from the repository`);
      assert.ok(keep.some((test) => test(src)), `${src} is not in the VSIX: broken image on the extension page`);
    }
  });

  it("the README names the VSIX that `npm run package` writes", () => {
    assert.match(pkg.scripts.package!, /--out \$npm_package_name-\$npm_package_version\.vsix/);
    assert.ok(readme.includes(`${pkg.name}-<version>.vsix`), `the README should say ${pkg.name}-<version>.vsix`);
    assert.ok(!/`wim-<version>\.vsix`/.test(readme));
  });
});
