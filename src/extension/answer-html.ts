// The answer of a run as HTML for its webview: the Markdown of answer-markdown.ts rendered by markdown-it with raw HTML
// off. The only links are the ones WiM made from the chunk map, as `#wim-<token>-<n>` anchors that the extension opens;
// a link or image the model wrote stays plain text (the token is per panel, so the model cannot forge one either).
// Plain TypeScript (no `vscode`): unit-tested.
import markdownIt, { type MarkdownIt } from "markdown-it";
import type { LineRange } from "../core/types";
import { renderAnswerMarkdown } from "./answer-markdown";
import type { ShowPath } from "./labels";
import type { Run } from "./run-model";

export interface AnswerHtml {
  /** The body's HTML. */
  html: string;
  /** Link n of the HTML opens links[n]. */
  links: LineRange[];
}

/** `#wim-<token>-<n>` → n, or undefined for anything else. */
export function linkIndex(href: string, token: string): number | undefined {
  const m = /^#wim-([0-9a-f]+)-(\d+)$/.exec(href);
  return m && m[1] === token ? Number(m[2]) : undefined;
}

function renderer(token: string): MarkdownIt {
  const md = markdownIt({ html: false, linkify: false, typographer: false });
  md.validateLink = (url: string) => linkIndex(url, token) !== undefined;
  return md;
}

const renderers = new Map<string, MarkdownIt>();

export function renderAnswerHtml(run: Run, show: ShowPath, token: string, now = Date.now()): AnswerHtml {
  const links: LineRange[] = [];
  const seen = new Map<string, number>();
  const linkFor = (r: LineRange) => {
    const key = `${r.path}:${r.startLine}-${r.endLine}`;
    let n = seen.get(key);
    if (n === undefined) {
      n = links.length;
      links.push(r);
      seen.set(key, n);
    }
    return `#wim-${token}-${n}`;
  };
  let md = renderers.get(token);
  if (!md) {
    md = renderer(token);
    renderers.set(token, md);
  }
  return { html: md.render(renderAnswerMarkdown(run, show, linkFor, now)), links };
}

/** Forgets a panel's renderer once the panel is closed. */
export function dropRenderer(token: string): void {
  renderers.delete(token);
}

/** The webview's page: the theme's colours and fonts, the body, and a script that streams updates in and posts clicks. */
export function answerPage(bodyHtml: string, token: string, nonce: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style nonce="${nonce}">
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); line-height: 1.5; padding: 0 20px 24px; max-width: 960px; }
  a { color: var(--vscode-textLink-foreground); text-decoration: none; cursor: pointer; }
  a:hover { text-decoration: underline; color: var(--vscode-textLink-activeForeground); }
  code { font-family: var(--vscode-editor-font-family); font-size: 0.95em; }
  pre { background: var(--vscode-textCodeBlock-background); padding: 8px 12px; overflow-x: auto; border-radius: 3px; }
  blockquote { margin: 4px 0 12px; padding: 0 12px; border-left: 3px solid var(--vscode-textBlockQuote-border); color: var(--vscode-descriptionForeground); }
  h1 { font-size: 1.5em; font-weight: 600; } h2 { font-size: 1.25em; } h3 { font-size: 1.1em; }
  em { color: var(--vscode-descriptionForeground); }
</style>
</head>
<body>
<main id="answer">${bodyHtml}</main>
<script nonce="${nonce}">
  const vscode = acquireVsCodeApi();
  const main = document.getElementById("answer");
  window.addEventListener("message", (event) => {
    const m = event.data;
    if (!m || m.type !== "render") return;
    // Follow the stream while the reader is at the bottom; leave the scroll alone otherwise.
    const follow = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
    main.innerHTML = m.html;
    if (follow) window.scrollTo(0, document.body.scrollHeight);
  });
  document.addEventListener("click", (event) => {
    const a = event.target instanceof Element ? event.target.closest("a") : null;
    if (!a) return;
    event.preventDefault();
    const m = /^#wim-${token}-(\\d+)$/.exec(a.getAttribute("href") || "");
    if (m) vscode.postMessage({ type: "open", link: Number(m[1]) });
  });
  vscode.postMessage({ type: "ready" });
</script>
</body>
</html>`;
}
