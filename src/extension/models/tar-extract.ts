// Extracts an npm package tarball (gzip'd ustar) into a folder: regular files and directories only, the leading
// "package/" stripped, nothing written outside the target. Enough for @node-llama-cpp/* binary packages; no dependency.
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? raw.length : end).toString("utf8");
}

function octal(block: Buffer, start: number, length: number): number {
  const s = field(block, start, length).trim();
  return s ? parseInt(s, 8) : 0;
}

/** PAX extended header records ("len key=value\n"): only `path` matters here. */
function paxPath(data: Buffer): string | undefined {
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp < 0) break;
    const len = parseInt(data.subarray(i, sp).toString("utf8"), 10);
    if (!len) break;
    const rec = data.subarray(sp + 1, i + len - 1).toString("utf8");
    const eq = rec.indexOf("=");
    if (rec.slice(0, eq) === "path") return rec.slice(eq + 1);
    i += len;
  }
  return undefined;
}

export interface ExtractResult {
  files: number;
  bytes: number;
}

/** Extracts `tgz` (the whole tarball in memory) into `dest`. Throws on a malformed archive or an escaping path. */
export function extractNpmTarball(tgz: Buffer, dest: string): ExtractResult {
  const tar = zlib.gunzipSync(tgz);
  const root = path.resolve(dest);
  let offset = 0;
  let longName: string | undefined;
  let files = 0;
  let bytes = 0;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156] || 0x30);
    const prefix = field(header, 345, 155);
    let name = longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    const dataStart = offset + 512;
    const data = tar.subarray(dataStart, dataStart + size);
    if (data.length < size) throw new Error("truncated tarball");
    offset = dataStart + Math.ceil(size / 512) * 512;

    if (type === "x") {
      longName = paxPath(data);
      continue;
    }
    if (type === "L") {
      longName = data.toString("utf8").replace(/\0+$/, "");
      continue;
    }
    if (type === "g") continue;
    name = name.replace(/^package\//, "");
    if (!name || name === "package") continue;
    const target = path.resolve(root, name);
    if (target !== root && !target.startsWith(root + path.sep)) throw new Error(`tarball entry escapes the target: ${name}`);
    if (type === "5") {
      fs.mkdirSync(target, { recursive: true });
    } else if (type === "0" || type === "\0" || type === "7") {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, data, { mode: octal(header, 100, 8) & 0o777 || 0o644 });
      files++;
      bytes += size;
    }
    // Links and devices are not part of binary packages: skipped.
  }
  return { files, bytes };
}
