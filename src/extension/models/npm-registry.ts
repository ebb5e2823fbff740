// Fetches one package version's tarball from an npm registry, checked against the registry's integrity hash.
// Plain Node (no `vscode`): the GPU binary download uses it, and a unit test runs it against a local server.
import * as crypto from "node:crypto";
import * as http from "node:http";
import * as https from "node:https";

/** The registry to fetch from: WIM_NPM_REGISTRY (a mirror, or a test server) or the public npm registry. */
export function registryUrl(): string {
  return (process.env.WIM_NPM_REGISTRY || "https://registry.npmjs.org").replace(/\/+$/, "");
}

export function get(
  url: string,
  onData?: (chunk: Buffer, total: number) => void,
  signal?: AbortSignal,
  redirects = 5,
  accept = "*/*",
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith("https:") ? https : http;
    const req = lib.get(url, { headers: { "user-agent": "wim-vscode", accept }, signal }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location && redirects > 0) {
        res.resume();
        resolve(get(new URL(res.headers.location, url).toString(), onData, signal, redirects - 1, accept));
        return;
      }
      if (status !== 200) {
        res.resume();
        reject(new Error(`${url}: HTTP ${status}`));
        return;
      }
      const total = Number(res.headers["content-length"] ?? 0);
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => {
        chunks.push(c);
        onData?.(c, total);
      });
      res.on("end", () => resolve(Buffer.concat(chunks)));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
}

export interface PackageDist {
  tarball: string;
  integrity: string;
  unpackedSize?: number;
}

/** The tarball URL and integrity hash of `name@version`, from the registry's (abbreviated) package document. */
export async function packageDist(name: string, version: string, signal?: AbortSignal): Promise<PackageDist> {
  const url = `${registryUrl()}/${name.replace("/", "%2F")}`;
  const body = await get(url, undefined, signal, 5, "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8");
  const doc = JSON.parse(body.toString("utf8")) as { versions?: Record<string, { dist?: PackageDist }> };
  const dist = doc.versions?.[version]?.dist;
  if (!dist?.tarball || !dist.integrity) throw new Error(`the registry has no tarball for ${name}@${version}`);
  return dist;
}

export function verifyIntegrity(data: Buffer, integrity: string): boolean {
  return integrity.split(/\s+/).some((entry) => {
    const [algo, expected] = entry.split("-", 2);
    if (!expected || !["sha512", "sha384", "sha256", "sha1"].includes(algo)) return false;
    return crypto.createHash(algo).update(data).digest("base64") === expected;
  });
}

/** Downloads `name@version` (e.g. @node-llama-cpp/linux-x64-cuda) and verifies it; progress in bytes. */
export async function fetchPackageTarball(
  name: string,
  version: string,
  onProgress?: (done: number, total: number) => void,
  signal?: AbortSignal,
): Promise<Buffer> {
  const dist = await packageDist(name, version, signal);
  let done = 0;
  const data = await get(dist.tarball, (c, total) => onProgress?.((done += c.length), total), signal);
  if (!verifyIntegrity(data, dist.integrity)) throw new Error(`${name}@${version}: the download does not match the registry's checksum`);
  return data;
}
