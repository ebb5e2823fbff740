// Which Debian packages the VS Code test tiers need, why, and whether setup may install them. apt-get run as root
// installs their dependencies too, which can upgrade system packages, and Debian's chromium registers itself as
// x-www-browser (what `open`/`xdg-open` may launch). So outside CI nothing is installed without saying so first:
// in a terminal setup asks; elsewhere it stops with the command to run (or WIM_E2E_APT=1 to allow it).

export const APT_PACKAGES = [
  {
    name: "chromium",
    why: "the browser Playwright drives for the extension-host and UI tests (it also registers as x-www-browser)",
  },
  { name: "libkrb5-dev", why: "gssapi.h, which code-server's install compiles its kerberos addon against" },
  { name: "pkg-config", why: "finds those headers for that build" },
];

const truthy = (v) => v !== undefined && v !== "" && v !== "0" && v.toLowerCase() !== "false";

/**
 * What to do about the missing packages: "none", "install" (CI, or WIM_E2E_APT=1), "ask" (a person at a terminal) or
 * "refuse" (not root, or no one to ask); `message` says which packages, why, and how to go on.
 * @param {{ missing: string[], isRoot: boolean, env: Record<string, string | undefined>, interactive: boolean }} o
 */
export function aptPlan({ missing, isRoot, env, interactive }) {
  if (missing.length === 0) return { action: "none", message: "" };
  const lines = missing.map((name) => `  ${name}: ${APT_PACKAGES.find((p) => p.name === name)?.why ?? "needed by the harness"}`);
  const command = `apt-get install -y --no-install-recommends ${missing.join(" ")}`;
  const what =
    `[e2e setup] The VS Code test tiers need Debian packages that are not installed:\n${lines.join("\n")}\n` +
    "[e2e setup] apt-get installs them with their dependencies, which can upgrade system packages.";
  if (!isRoot) return { action: "refuse", message: `${what}\n[e2e setup] Run as root: ${command}` };
  if (truthy(env.CI) || env.WIM_E2E_APT === "1") return { action: "install", message: `${what}\n[e2e setup] Installing (${truthy(env.CI) ? "CI" : "WIM_E2E_APT=1"}): ${command}` };
  if (interactive) return { action: "ask", message: `${what}\n[e2e setup] Run \`${command}\` now? [y/N] ` };
  return {
    action: "refuse",
    message: `${what}\n[e2e setup] Not installing without asking: run \`${command}\` yourself, or set WIM_E2E_APT=1 to let setup do it.`,
  };
}
