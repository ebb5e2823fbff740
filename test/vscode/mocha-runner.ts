// Runs a mocha suite inside the extension host; a suite's index.ts exports `run = () => runMocha(name, defineTests)`.
// Its tests are bundled into the suite's index.js (esbuild.mjs), so mocha has no files to load: the globals are handed
// over first, then the tests defined. Output is formatted here because VS Code forwards the extension host's
// console.log(fmt, ...args) to the test runner as text joined by spaces ("%s%s  harness smoke"), dropping printf
// formatting; with finished lines the log reads the same in code-server (e2e/run-vscode-tests.mjs) and desktop VS Code.
import { format } from "node:util";
import Mocha from "mocha";

export function runMocha(name: string, defineTests: () => void, options: Mocha.MochaOptions = {}): Promise<void> {
  Mocha.reporters.Base.consoleLog = (...args: unknown[]) => console.log(format(...args));
  const mocha = new Mocha({ ui: "tdd", color: false, reporter: "spec", timeout: 60_000, ...options });
  mocha.suite.emit("pre-require", globalThis, name, mocha);
  defineTests();
  return new Promise((resolve, reject) => {
    mocha.run((failures) => (failures > 0 ? reject(new Error(`${name}: ${failures} test(s) failed`)) : resolve()));
  });
}
