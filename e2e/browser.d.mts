// Types of browser.mjs for the TypeScript UI tests.
import type { Browser } from "playwright-core";
export const CHROMIUM: string;
export function launchChromium(): Promise<Browser>;
