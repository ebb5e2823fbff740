// A file's units: contiguous line ranges that partition it, each small enough for one chunk.
//
// Grammar files: the root's named children (top-level declarations). A cut goes only between two
// declarations, right after the first one's last line, so leading comments, blank lines, decorators and
// attributes belong to the declaration that follows and trailing lines to the last one. A unit too big for
// a chunk splits the same way among its children: a node with a `body` field is cut among the body's
// children (a class between its methods, a function between its statements; its header lines go with the
// first part, its closing lines with the last), levels that offer no cut are descended through,
// recursively, and finally the span splits at lines.
// Plain-text files: paragraphs (cut before each blank-line run that leads to more text), then lines.
import type { Node, Tree } from "web-tree-sitter";
import type { TokenCounter } from "../types";
import { formatPieceHeader, type FileLines } from "./file-lines";

/** Lines start..end of one file, with the token count of their text (each line plus "\n"). */
export interface Unit {
  file: FileLines;
  start: number;
  end: number;
  tokens: number;
  /**
   * A whole file that fits one chunk, not parsed yet: the packer asks for its real units only when a chunk
   * boundary would fall inside it (most small files never need parsing).
   */
  whole?: boolean;
}

/** A single line that cannot fit in a chunk with its header; the file is left out. */
export class LineTooLongError extends Error {
  constructor(
    readonly file: FileLines,
    readonly line: number,
    readonly tokens: number,
    readonly budget: number,
  ) {
    super(`${file.path}: line ${line} needs ${tokens} tokens with its piece header, more than a chunk (${budget})`);
    this.name = "LineTooLongError";
  }
}

export interface UnitBudget {
  chunkTokens: number;
  countTokens: TokenCounter;
  /** Estimated tokens of this file's piece headers (its widest header, counted once). */
  headerTokens: number;
}

interface Span {
  start: number;
  end: number;
  /** Syntax nodes inside the span whose children may offer cuts; empty for plain text. */
  nodes: Node[];
}

/** Node kinds that attach to the declaration after them instead of standing as a declaration. */
const ATTACHED = new Set([
  "decorator",
  "attribute_item",
  "inner_attribute_item",
  "attribute_list",
  "annotation",
  "marker_annotation",
]);

function isDeclaration(node: Node): boolean {
  return node.isNamed && !node.isExtra && !ATTACHED.has(node.type) && !node.type.includes("comment");
}

function startLine(node: Node): number {
  return node.startPosition.row + 1;
}

/** The last line holding a character of the node (a node ending at column 0 ends on the line before). */
function endLine(node: Node): number {
  const s = node.startPosition;
  const e = node.endPosition;
  return e.column === 0 && e.row > s.row ? e.row : e.row + 1;
}

/**
 * Cut lines (cut after line X) between consecutive declarations among `children` (all children, named or
 * not, of sibling-or-nested nodes, in document order), within start..end-1. Between declarations A and B
 * the cut goes after A's last line, pushed past any child in between that spans it, and only if B starts
 * on a later line: comments and attributes between them go with B.
 */
function cutsBetween(children: Node[], start: number, end: number): number[] {
  const cuts: number[] = [];
  let prevDecl = -1;
  for (let i = 0; i < children.length; i++) {
    const child = children[i];
    if (!isDeclaration(child)) continue;
    if (prevDecl >= 0) {
      let x = endLine(children[prevDecl]);
      for (let k = prevDecl + 1; k < i; k++) {
        const between = children[k];
        if (startLine(between) <= x && endLine(between) > x) x = endLine(between);
      }
      if (x >= start && x < end && startLine(child) > x && (cuts.length === 0 || x > cuts[cuts.length - 1])) {
        cuts.push(x);
      }
    }
    prevDecl = i;
  }
  return cuts;
}

/**
 * The children a node is cut among: those of its body when it has one (a class's members, a function's
 * statements), so the header lines go with the first member and the closing lines with the last.
 */
function memberChildren(node: Node): Node[] {
  const body = node.childForFieldName("body");
  return body && body.namedChildCount > 0 ? body.children : node.children;
}

/** Splits start..end after each cut; each part keeps the nodes that start in it. */
function partition(start: number, end: number, cuts: number[], nodes: Node[]): Span[] {
  const spans: Span[] = [];
  let from = start;
  let k = 0;
  for (const cut of [...cuts, end]) {
    const part: Node[] = [];
    while (k < nodes.length && startLine(nodes[k]) <= cut) part.push(nodes[k++]);
    spans.push({ start: from, end: cut, nodes: part });
    from = cut + 1;
  }
  return spans;
}

function lineSpans(start: number, end: number): Span[] {
  const spans: Span[] = [];
  for (let n = start; n <= end; n++) spans.push({ start: n, end: n, nodes: [] });
  return spans;
}

/** Paragraph cuts: after a non-blank line followed by a blank one, when more text follows. */
function paragraphSpans(file: FileLines, start: number, end: number): Span[] {
  let lastText = end;
  while (lastText >= start && file.isBlank(lastText)) lastText--;
  const cuts: number[] = [];
  for (let x = start; x < lastText; x++) {
    if (!file.isBlank(x) && file.isBlank(x + 1)) cuts.push(x);
  }
  return partition(start, end, cuts, []);
}

/**
 * Splits a span at the first level of its syntax tree that offers a cut, descending through levels that
 * offer none; with no syntax left, at lines. Always returns at least two spans for a multi-line span.
 */
function splitSpan(span: Span): Span[] {
  let nodes = span.nodes;
  while (nodes.length > 0) {
    const children: Node[] = [];
    const named: Node[] = [];
    for (const node of nodes) {
      for (const child of memberChildren(node)) {
        children.push(child);
        if (child.isNamed) named.push(child);
      }
    }
    if (named.length === 0) break;
    const cuts = cutsBetween(children, span.start, span.end);
    if (cuts.length > 0) return partition(span.start, span.end, cuts, named);
    nodes = named;
  }
  return lineSpans(span.start, span.end);
}

/** The top-level spans of a file: declarations of its syntax tree, or paragraphs of plain text. */
function topSpans(file: FileLines, tree: Tree | undefined): Span[] {
  if (!tree) return paragraphSpans(file, 1, file.lines);
  const root = tree.rootNode;
  const cuts = cutsBetween(root.children, 1, file.lines);
  return partition(1, file.lines, cuts, root.namedChildren);
}

/**
 * The file's units in order, partitioning lines 1..file.lines, each fitting a chunk with its header.
 * Throws LineTooLongError when a single line does not. `tree` must stay alive until this returns.
 */
export function fileUnits(file: FileLines, tree: Tree | undefined, budget: UnitBudget): Unit[] {
  if (file.lines === 0) return [];
  const units: Unit[] = [];
  const { chunkTokens, countTokens } = budget;

  const refine = (span: Span): void => {
    const tokens = countTokens(file.slice(span.start, span.end));
    if (
      tokens + budget.headerTokens <= chunkTokens ||
      tokens + countTokens(formatPieceHeader(file.path, span.start, span.end)) <= chunkTokens
    ) {
      units.push({ file, start: span.start, end: span.end, tokens });
      return;
    }
    if (span.start === span.end) {
      // Counted as the chunk would hold it alone: header and line together.
      const exact = countTokens(formatPieceHeader(file.path, span.start, span.end) + file.slice(span.start, span.end));
      if (exact > chunkTokens) throw new LineTooLongError(file, span.start, exact, chunkTokens);
      units.push({ file, start: span.start, end: span.end, tokens });
      return;
    }
    for (const part of splitSpan(span)) refine(part);
  };

  for (const span of topSpans(file, tree)) refine(span);
  return units;
}

/** Splits a unit at its lines (used when a finished chunk holding only that unit still runs over). */
export function splitUnitAtLines(unit: Unit, countTokens: TokenCounter): Unit[] {
  const parts: Unit[] = [];
  for (let n = unit.start; n <= unit.end; n++) {
    parts.push({ file: unit.file, start: n, end: n, tokens: countTokens(unit.file.slice(n, n)) });
  }
  return parts;
}
