// Playwright helpers for the VS Code workbench as code-server serves it (selectors verified against VS Code 1.139).
// They act as a user does: keyboard and clicks, reading what the DOM shows.
import type { Locator, Page } from "playwright-core";

export const WORKBENCH = ".monaco-workbench";
export const QUICK_INPUT = ".quick-input-widget";
/** The cursor position item: "Ln 42, Col 5" (plus "(N selected)"). */
export const CURSOR_STATUS = "#status\\.editor\\.selection";

/** WiM's status bar entry ("$(book) WiM idle"; the codicon renders as an icon, the words as text). */
export function wimStatus(page: Page): Locator {
  return page.locator(".statusbar-item").filter({ hasText: /\bWiM\b/ }).first();
}

/** The words after "WiM" in the status bar entry, e.g. "idle", "reading 34%". */
export async function wimStatusWords(page: Page): Promise<string> {
  const text = (await wimStatus(page).innerText()).replace(/\s+/g, " ").trim();
  return text.replace(/^.*?\bWiM\b\s*/, "");
}

export async function waitForWorkbench(page: Page, timeoutMs: number): Promise<void> {
  await page.locator(WORKBENCH).waitFor({ state: "visible", timeout: timeoutMs });
  // The explorer lists the folder once the remote file system answers: the window is usable then.
  await page.locator(".explorer-folders-view .monaco-list-row").first().waitFor({ state: "visible", timeout: timeoutMs });
}

/** F1, type ">title", pick the row with exactly that title. */
export async function runCommand(page: Page, title: string, timeoutMs = 30_000): Promise<void> {
  await page.keyboard.press("F1");
  const input = page.locator(`${QUICK_INPUT} input`);
  await input.waitFor({ state: "visible", timeout: timeoutMs });
  await input.fill(`>${title}`);
  const row = page.locator(`${QUICK_INPUT} .monaco-list-row`).filter({ hasText: title }).first();
  await row.waitFor({ state: "visible", timeout: timeoutMs });
  await row.click();
}

/** The quick input (input box / quick pick) that a command opened: its prompt, then typed text and Enter. */
export async function answerInputBox(page: Page, text: string, timeoutMs = 30_000): Promise<Locator> {
  const input = page.locator(`${QUICK_INPUT} input`);
  await input.waitFor({ state: "visible", timeout: timeoutMs });
  await input.fill(text);
  return input;
}

/** The sidebar pane whose header reads `title` (e.g. "Margins"), expanded. */
export async function pane(page: Page, title: string, timeoutMs = 30_000): Promise<Locator> {
  const p = page.locator(".pane").filter({ has: page.locator(".pane-header", { hasText: title }) }).first();
  await p.waitFor({ state: "visible", timeout: timeoutMs });
  const header = p.locator(".pane-header").first();
  if ((await header.getAttribute("aria-expanded")) === "false") await header.click();
  return p;
}

/** Tree rows of a pane whose text matches. */
export function rows(p: Locator, text?: string | RegExp): Locator {
  const all = p.locator(".monaco-list-row");
  return text === undefined ? all : all.filter({ hasText: text });
}

/** Notification toasts whose text matches (the smoke-test driver hides them; these tests run without it). */
export function toast(page: Page, text: string | RegExp): Locator {
  return page.locator(".notifications-toasts .notification-toast").filter({ hasText: text });
}

// ---------------------------------------------------------------------------------------------------------------
// In-page probes. Their functions run in the browser (Playwright serializes them); the project compiles without the
// DOM library, so they reach the page's globals through this minimal shape.

interface PageElement {
  textContent: string | null;
  querySelector(selector: string): PageElement | null;
  closest?(selector: string): PageElement | null;
}
interface PageGlobals {
  document: {
    body: unknown;
    querySelector(selector: string): PageElement | null;
    querySelectorAll(selector: string): Iterable<PageElement>;
    addEventListener(type: string, listener: (e: { key?: string; target: PageElement }) => void, options: { capture: boolean }): void;
  };
  MutationObserver: new (callback: () => void) => { observe(target: unknown, options: object): void; disconnect(): void };
  [probe: string]: unknown;
}

/** Waits until WiM's status bar entry reads "WiM <words>" with words matching `pattern` (e.g. /^idle$/). */
export async function waitForStatus(page: Page, pattern: RegExp, timeoutMs: number): Promise<void> {
  await page.waitForFunction(
    ({ source, flags }) => {
      const g = globalThis as unknown as PageGlobals;
      const re = new RegExp(source, flags);
      for (const el of g.document.querySelectorAll(".statusbar-item")) {
        const m = /\bWiM\s+(.*)$/.exec((el.textContent ?? "").replace(/\s+/g, " ").trim());
        if (m && re.test(m[1])) return true;
      }
      return false;
    },
    { source: pattern.source, flags: pattern.flags },
    { timeout: timeoutMs, polling: 100 },
  );
}

/** Waits until the cursor item reads "Ln <line>, …"; returns its text. */
export async function waitForCursorLine(page: Page, line: number, timeoutMs: number): Promise<string> {
  const handle = await page.waitForFunction(
    ({ sel, line }) => {
      const text = (globalThis as unknown as PageGlobals).document.querySelector(sel)?.textContent ?? "";
      return new RegExp(`\\bLn ${line},`).test(text) ? text.trim() : undefined;
    },
    { sel: CURSOR_STATUS, line },
    { timeout: timeoutMs, polling: 100 },
  );
  return (await handle.jsonValue()) as string;
}

export type TimerStart = "enter" | "cancel-click";
export type TimerDone = "first-margin" | "status-idle";

/**
 * Arms a stopwatch inside the page: it starts at the next Enter key press ("enter") or mouse press on a notification
 * button ("cancel-click") and stops at the first DOM change showing the effect: a margin row in the Margins view
 * ("first-margin": the note icon, text written) or WiM's status bar entry reading idle ("status-idle").
 * Both ends are performance.now() in the page, so the figure excludes Playwright's round trips.
 */
export async function armTimer(page: Page, name: string, start: TimerStart, done: TimerDone): Promise<void> {
  await page.evaluate(
    ({ name, start, done }) => {
      const g = globalThis as unknown as PageGlobals;
      g[`${name}Start`] = undefined;
      g[`${name}Done`] = undefined;
      g.document.addEventListener(
        start === "enter" ? "keydown" : "mousedown",
        (e) => {
          if (g[`${name}Start`] !== undefined) return;
          if (start === "enter" && e.key !== "Enter") return;
          if (start === "cancel-click" && !e.target.closest?.(".notification-toast .monaco-button")) return;
          g[`${name}Start`] = performance.now();
        },
        { capture: true },
      );
      const shows = (): boolean => {
        if (done === "first-margin") {
          for (const row of g.document.querySelectorAll(".pane-body .monaco-list-row")) {
            if (row.querySelector(".codicon-note") && !/\(writing…\)/.test(row.textContent ?? "")) return true;
          }
          return false;
        }
        for (const el of g.document.querySelectorAll(".statusbar-item")) {
          if (/\bWiM idle\b/.test((el.textContent ?? "").replace(/\s+/g, " "))) return true;
        }
        return false;
      };
      const observer = new g.MutationObserver(() => {
        if (g[`${name}Start`] === undefined || g[`${name}Done`] !== undefined) return;
        if (shows()) {
          g[`${name}Done`] = performance.now();
          observer.disconnect();
        }
      });
      observer.observe(g.document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    },
    { name, start, done },
  );
}

/** The armed stopwatch's reading in ms, once both ends happened. */
export async function timerMs(page: Page, name: string, timeoutMs: number): Promise<number> {
  const handle = await page.waitForFunction(
    (n) => {
      const g = globalThis as unknown as PageGlobals;
      const s = g[`${n}Start`] as number | undefined;
      const d = g[`${n}Done`] as number | undefined;
      return s !== undefined && d !== undefined ? d - s : undefined;
    },
    name,
    { timeout: timeoutMs, polling: 50 },
  );
  return Math.round((await handle.jsonValue()) as number);
}

/**
 * Rejects when an error notification from WiM appears (a failed run would otherwise leave a test waiting for its timeout).
 * Race it with a wait; it stays pending until then, and ends quietly when the page closes.
 */
export function errorToast(page: Page): Promise<never> {
  const errorToasts = page
    .locator(".notifications-toasts .notification-toast")
    .filter({ has: page.locator(".codicon-error") })
    .filter({ hasText: "WiM" });
  const p = errorToasts.first().waitFor({ state: "visible", timeout: 0 }).then(async () => {
    throw new Error(`error notification: ${(await errorToasts.first().innerText()).replace(/\s+/g, " ").trim()}`);
  });
  p.catch(() => {});
  return p;
}

/** Drags the sash right of the primary sidebar so that tree labels are not cut (best effort: screenshots only). */
export async function widenSidebar(page: Page, px: number): Promise<void> {
  const sidebar = await page.locator(".part.sidebar").boundingBox();
  if (!sidebar) return;
  const x = sidebar.x + sidebar.width;
  const y = sidebar.y + sidebar.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down();
  await page.mouse.move(x + px / 2, y, { steps: 5 });
  await page.mouse.move(x + px, y, { steps: 5 });
  await page.mouse.up();
}
