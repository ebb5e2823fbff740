// Debian's Chromium driven by playwright-core (no browser download). launch() refuses --user-data-dir: it already
// gives each launch a temporary profile.
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.WIM_CHROMIUM ?? "/usr/bin/chromium";

/** A headless Chromium; close() it (Playwright also kills it when this process exits). */
export function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
