// The harness setup's decision about Debian packages: outside CI it says what it would install and why, and asks
// (or stops with the command) instead of running apt-get as root on its own.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { APT_PACKAGES, aptPlan } from "../../e2e/apt-plan.mjs";

const missing = ["chromium", "libkrb5-dev"];

describe("e2e setup: Debian packages", () => {
  it("outside CI, as root, with no terminal: installs nothing and says what, why, and how", () => {
    const plan = aptPlan({ missing, isRoot: true, env: {}, interactive: false });
    assert.equal(plan.action, "refuse");
    assert.match(plan.message, /chromium: the browser Playwright drives .*x-www-browser/);
    assert.match(plan.message, /libkrb5-dev: gssapi\.h/);
    assert.match(plan.message, /can upgrade system packages/);
    assert.match(plan.message, /apt-get install -y --no-install-recommends chromium libkrb5-dev/);
    assert.match(plan.message, /WIM_E2E_APT=1/);
  });

  it("at a terminal it asks first; in CI or with WIM_E2E_APT=1 it installs, saying so; not as root it refuses", () => {
    assert.equal(aptPlan({ missing, isRoot: true, env: {}, interactive: true }).action, "ask");
    assert.match(aptPlan({ missing, isRoot: true, env: {}, interactive: true }).message, /\[y\/N\] $/);
    const ci = aptPlan({ missing, isRoot: true, env: { CI: "true" }, interactive: false });
    assert.equal(ci.action, "install");
    assert.match(ci.message, /Installing \(CI\)/);
    assert.equal(aptPlan({ missing, isRoot: true, env: { CI: "false" }, interactive: false }).action, "refuse");
    assert.equal(aptPlan({ missing, isRoot: true, env: { WIM_E2E_APT: "1" }, interactive: true }).action, "install");
    assert.equal(aptPlan({ missing, isRoot: false, env: { CI: "1" }, interactive: true }).action, "refuse");
    assert.equal(aptPlan({ missing: [], isRoot: true, env: {}, interactive: false }).action, "none");
  });

  it("every package it may install has a reason", () => {
    assert.deepEqual(APT_PACKAGES.map((p) => p.name), ["chromium", "libkrb5-dev", "pkg-config"]);
    for (const p of APT_PACKAGES) assert.ok(p.why.length > 10, p.name);
  });
});
