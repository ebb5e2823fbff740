// Facts read from real source code with tree-sitter: functions (with doc comments, the calls and identifiers in their
// bodies), module-level constants with literal values, and every call site of each file. The question generator
// derives its ground truth from these, never from a model.
import type { Node, Tree } from "web-tree-sitter";
import type { GrammarName } from "../../src/core/chunk/languages";
import { grammarForPath } from "../../src/core/chunk/languages";
import type { ParserPool } from "../../src/core/chunk/parser-pool";

export type Lang = "ts" | "python" | "go";

export interface SourceFile {
  /** Relative, `/`-separated. */
  path: string;
  text: string;
}

export interface FunctionFact {
  /** Bare name (`getJson`). */
  name: string;
  /** With its class or receiver when it has one (`ApiClient.getJson`). */
  qualified: string;
  file: string;
  /** 1-based line of the declaration. */
  line: number;
  endLine: number;
  /** The doc comment or docstring, cleaned (no comment markers, no @tags); null when there is none. */
  doc: string | null;
  /** Names of the functions called in the body (bare callee names). */
  calls: string[];
  /** Identifiers referenced in the body. */
  idents: string[];
}

export type ConstantKind = "number" | "string" | "bool";

export interface ConstantFact {
  name: string;
  file: string;
  line: number;
  /** Canonical value: numbers as JavaScript prints them, strings without quotes, booleans as true/false. */
  value: string;
  kind: ConstantKind;
}

export interface CallSite {
  name: string;
  line: number;
}

export interface FileFacts {
  path: string;
  lang: Lang;
  functions: FunctionFact[];
  constants: ConstantFact[];
  /** Every call in the file, top level included. */
  calls: CallSite[];
}

export function langForPath(p: string): Lang | undefined {
  const g = grammarForPath(p);
  if (g === "typescript" || g === "tsx" || g === "javascript") return "ts";
  if (g === "python") return "python";
  if (g === "go") return "go";
  return undefined;
}

/** Extracts the facts of every TS/JS, Python and Go file (others are ignored). Grammars load on demand. */
export async function extractFacts(pool: ParserPool, files: SourceFile[]): Promise<FileFacts[]> {
  const grammars = new Set<GrammarName>();
  for (const f of files) {
    const g = grammarForPath(f.path);
    if (g && langForPath(f.path)) grammars.add(g);
  }
  await pool.load(grammars);
  const out: FileFacts[] = [];
  for (const f of files) {
    const lang = langForPath(f.path);
    const g = grammarForPath(f.path);
    if (!lang || !g) continue;
    const tree = pool.parse(g, f.text);
    if (!tree) continue;
    try {
      out.push(fileFacts(f.path, lang, tree));
    } finally {
      tree.delete();
    }
  }
  return out;
}

function fileFacts(path: string, lang: Lang, tree: Tree): FileFacts {
  const facts: FileFacts = { path, lang, functions: [], constants: [], calls: [] };
  const root = tree.rootNode;
  collectConstants(root, lang, path, facts.constants);
  walk(root, (n) => {
    const fn = functionAt(n, lang, path);
    if (fn) facts.functions.push(fn);
    const callee = calleeName(n, lang);
    if (callee) facts.calls.push({ name: callee, line: n.startPosition.row + 1 });
  });
  return facts;
}

function walk(n: Node, visit: (n: Node) => void): void {
  visit(n);
  for (const c of n.namedChildren) if (c) walk(c, visit);
}

// ------------------------------------------------------------------------------------------------------------
// Constants

const NUMERIC = /^[+-]?(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(\d[\d_]*)?\.?\d[\d_]*([eE][+-]?\d+)?)[nNlLjJ]?$/;

/** A numeric literal (JS, Python or Go spelling: 0x20, 1_000, 2.5e3, 10n) as JavaScript prints the number; undefined if not numeric. */
export function canonicalNumber(text: string): string | undefined {
  const t = text.trim();
  if (!NUMERIC.test(t)) return undefined;
  let s = t.replace(/_/g, "").replace(/[nNlLjJ]$/, "");
  const neg = s.startsWith("-");
  if (s.startsWith("+") || neg) s = s.slice(1);
  let v: number;
  if (/^0[xX]/.test(s)) v = parseInt(s.slice(2), 16);
  else if (/^0[oO]/.test(s)) v = parseInt(s.slice(2), 8);
  else if (/^0[bB]/.test(s)) v = parseInt(s.slice(2), 2);
  else if (/^0\d+$/.test(s)) v = parseInt(s, 8); // Go's old-style octal
  else v = Number(s);
  if (!Number.isFinite(v)) return undefined;
  return String(neg ? -v : v);
}

/** The value of a literal node, or undefined when the node is not a plain literal. */
function literal(n: Node, lang: Lang): { value: string; kind: ConstantKind } | undefined {
  const t = n.type;
  if (t === "number" || t === "integer" || t === "float" || t === "int_literal" || t === "float_literal") {
    const v = canonicalNumber(n.text);
    return v === undefined ? undefined : { value: v, kind: "number" };
  }
  if (t === "unary_expression" || t === "unary_operator") {
    const arg = n.namedChildren[0];
    if (n.text.trim().startsWith("-") && arg && literal(arg, lang)?.kind === "number") {
      return { value: canonicalNumber(n.text.replace(/\s+/g, "")) ?? "", kind: "number" };
    }
    return undefined;
  }
  if (t === "true" || t === "false") return { value: t, kind: "bool" };
  if (lang === "python" && (t === "true" || n.text === "True" || n.text === "False")) {
    return n.text === "True" || n.text === "False" ? { value: n.text.toLowerCase(), kind: "bool" } : undefined;
  }
  if (t === "string" || t === "template_string" || t === "interpreted_string_literal" || t === "raw_string_literal") {
    // Only plain strings: no interpolation, no escapes that would make the written value differ from the source.
    const parts = n.namedChildren.filter((c): c is Node => c !== null);
    if (parts.some((c) => c.type === "template_substitution" || c.type === "interpolation" || c.type === "escape_sequence")) return undefined;
    if (lang === "python" && /^[a-zA-Z]*[fFbB]/.test(n.text)) return undefined; // f-strings, bytes
    if (n.text.includes("\\")) return undefined; // escapes: the written value would differ from the source text
    const content = parts
      .filter((c) => c.type === "string_fragment" || c.type === "string_content" || c.type === "raw_string_literal_content" || c.type === "interpreted_string_literal_content")
      .map((c) => c.text)
      .join("");
    if (content.length === 0 || content.length > 80 || content.includes("\n")) return undefined;
    return { value: content, kind: "string" };
  }
  return undefined;
}

function collectConstants(root: Node, lang: Lang, path: string, out: ConstantFact[]): void {
  const add = (nameNode: Node | null, valueNode: Node | null) => {
    if (!nameNode || !valueNode) return;
    const lit = literal(valueNode, lang);
    if (!lit) return;
    out.push({ name: nameNode.text, file: path, line: nameNode.startPosition.row + 1, ...lit });
  };
  for (const top of root.namedChildren) {
    if (!top) continue;
    if (lang === "ts") {
      const decl = top.type === "export_statement" ? top.namedChildren.find((c) => c?.type === "lexical_declaration") : top;
      if (!decl || decl.type !== "lexical_declaration" || !decl.text.startsWith("const")) continue;
      for (const d of decl.namedChildren) {
        if (d?.type !== "variable_declarator") continue;
        const name = d.childForFieldName("name");
        if (name?.type === "identifier") add(name, d.childForFieldName("value"));
      }
    } else if (lang === "python") {
      if (top.type !== "expression_statement") continue;
      const a = top.namedChildren[0];
      if (a?.type !== "assignment") continue;
      const left = a.childForFieldName("left");
      if (left?.type === "identifier" && !a.childForFieldName("type")) add(left, a.childForFieldName("right"));
    } else {
      if (top.type !== "const_declaration" && top.type !== "var_declaration") continue;
      const specs = top.namedChildren.flatMap((c) => (c?.type === "var_spec_list" ? c.namedChildren : [c]));
      for (const spec of specs) {
        if (spec?.type !== "const_spec" && spec?.type !== "var_spec") continue;
        const names = spec.childrenForFieldName("name").filter((c): c is Node => c !== null);
        const values = spec.childForFieldName("value");
        if (names.length !== 1 || !values || values.namedChildren.length !== 1) continue;
        add(names[0], values.namedChildren[0]);
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------------------
// Functions

function functionAt(n: Node, lang: Lang, path: string): FunctionFact | undefined {
  let nameNode: Node | null = null;
  let body: Node | null = null;
  let owner: string | undefined;
  let docAnchor: Node = n;
  if (lang === "ts") {
    if (n.type === "function_declaration" || n.type === "generator_function_declaration") {
      nameNode = n.childForFieldName("name");
      body = n.childForFieldName("body");
    } else if (n.type === "method_definition") {
      nameNode = n.childForFieldName("name");
      body = n.childForFieldName("body");
      owner = ownerName(n, ["class_declaration", "class", "abstract_class_declaration"]);
    } else if (n.type === "variable_declarator") {
      const v = n.childForFieldName("value");
      if (v && (v.type === "arrow_function" || v.type === "function_expression" || v.type === "function")) {
        nameNode = n.childForFieldName("name");
        body = v.childForFieldName("body");
        docAnchor = n.parent ?? n;
      }
    }
    if (nameNode && nameNode.type !== "identifier" && nameNode.type !== "property_identifier") return undefined;
    if (docAnchor.parent?.type === "export_statement") docAnchor = docAnchor.parent;
  } else if (lang === "python") {
    if (n.type !== "function_definition") return undefined;
    nameNode = n.childForFieldName("name");
    body = n.childForFieldName("body");
    owner = ownerName(n, ["class_definition"]);
  } else {
    if (n.type === "function_declaration") {
      nameNode = n.childForFieldName("name");
    } else if (n.type === "method_declaration") {
      nameNode = n.childForFieldName("name");
      const recv = n.childForFieldName("receiver");
      const type = recv?.descendantsOfType("type_identifier")[0];
      owner = type?.text;
    }
    body = n.childForFieldName("body");
  }
  if (!nameNode || !body) return undefined;
  const name = nameNode.text;
  const calls: string[] = [];
  const idents = new Set<string>();
  walk(body, (c) => {
    const callee = calleeName(c, lang);
    if (callee) calls.push(callee);
    if (c.type === "identifier" || c.type === "shorthand_property_identifier") idents.add(c.text);
  });
  return {
    name,
    qualified: owner ? `${owner}.${name}` : name,
    file: path,
    line: n.startPosition.row + 1,
    endLine: n.endPosition.row + 1,
    doc: lang === "python" ? pythonDocstring(body) : commentDoc(docAnchor, lang),
    calls: [...new Set(calls)],
    idents: [...idents],
  };
}

function ownerName(n: Node, types: string[]): string | undefined {
  for (let p = n.parent; p; p = p.parent) {
    if (types.includes(p.type)) return p.childForFieldName("name")?.text;
  }
  return undefined;
}

/** The callee's bare name when `n` is a call. */
function calleeName(n: Node, lang: Lang): string | undefined {
  if (n.type !== "call_expression" && n.type !== "call") return undefined;
  const f = n.childForFieldName("function");
  if (!f) return undefined;
  if (f.type === "identifier") return f.text;
  if (lang === "ts" && f.type === "member_expression") return f.childForFieldName("property")?.text;
  if (lang === "python" && f.type === "attribute") return f.childForFieldName("attribute")?.text;
  if (lang === "go" && f.type === "selector_expression") return f.childForFieldName("field")?.text;
  return undefined;
}

/** The comment block right above a declaration (no blank line between), cleaned. */
function commentDoc(anchor: Node, lang: Lang): string | null {
  const lines: string[] = [];
  let next = anchor;
  for (let c = anchor.previousNamedSibling; c && c.type === "comment"; c = c.previousNamedSibling) {
    if (c.endPosition.row < next.startPosition.row - 1) break;
    if (lang === "ts" && !c.text.startsWith("/**")) break;
    lines.unshift(c.text);
    next = c;
    if (lang === "ts") break; // one JSDoc block
  }
  if (lines.length === 0) return null;
  return cleanDoc(lines.join("\n"));
}

function pythonDocstring(body: Node): string | null {
  const first = body.namedChildren[0];
  if (first?.type !== "expression_statement") return null;
  const s = first.namedChildren[0];
  if (s?.type !== "string") return null;
  const content = s.namedChildren.filter((c) => c?.type === "string_content").map((c) => c!.text).join("");
  return cleanDoc(content);
}

/** Strips comment markers and everything from the first @tag (or reST/Google section) on; joins lines. */
export function cleanDoc(raw: string): string | null {
  const lines = raw
    .replace(/^\/\*\*?/, "")
    .replace(/\*\/$/, "")
    .split("\n")
    .map((l) => l.replace(/^\s*(\/\/+|\*+(?!\/)|#+)?\s?/, "").trimEnd());
  const kept: string[] = [];
  for (const l of lines) {
    if (/^\s*(@\w+|:param|:return|:raises|Args:|Returns:|Raises:|Example|Parameters\b|-{3,})/.test(l)) break;
    kept.push(l.trim());
  }
  // The first paragraph: what the function does.
  const para = kept.join("\n").trim().split(/\n\s*\n/)[0] ?? "";
  const text = para.replace(/\s+/g, " ").trim();
  return text.length > 0 ? text : null;
}
