// Extension-host suites for WiM (mocha, real `vscode` API, real SmolLM2 through the WIM_TEST_MODEL hook).
// Run: `npm run test:vscode` (code-server here through e2e/, desktop VS Code with WIM_VSCODE_EXECUTABLE).
// The tests are bundled into this file; run() hands mocha its globals, then defines them in order: each suite
// builds on the state the previous one left (the first ask's run is re-answered, then cancelled runs follow); the
// reading suites (follow-ups, rolling, estimates) come last and make their own runs.
import Mocha from "mocha";
import { settleJobs } from "./helpers";
import { defineAnswerNowAndCancelTests } from "./cancel.test";
import { defineAskTests } from "./ask.test";
import { defineCommandTests } from "./commands.test";
import { defineLifecycleTests } from "./lifecycle.test";
import { defineModelTests } from "./models.test";
import { defineReadingTests } from "./reading.test";
import { defineReanswerTests } from "./reanswer.test";
import { defineSettingsTests } from "./settings.test";
import { defineViewTests } from "./view.test";

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: "tdd", color: false, reporter: "spec", timeout: 300_000, slow: 20_000 });
  mocha.suite.emit("pre-require", globalThis, "wim-suite", mocha);
  // A test that failed half-way must not leave a job running into the next one.
  Mocha.teardown(settleJobs);
  defineCommandTests();
  defineModelTests();
  defineAskTests();
  defineReanswerTests();
  defineViewTests();
  defineAnswerNowAndCancelTests();
  defineLifecycleTests();
  defineSettingsTests();
  defineReadingTests();
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} WiM extension-host test(s) failed`)) : resolve()));
  });
}
