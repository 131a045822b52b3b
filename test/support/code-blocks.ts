/**
 * The TypeScript code blocks of the Markdown docs, for the test that
 * type-checks and runs them (test/unit/docs.test.ts). A block is a fenced
 * block (``` or ~~~, any indentation, as CommonMark allows in list items)
 * whose info string starts with `ts`, `typescript`, `mts` or `tsx`. Words
 * after the language:
 *   - `fragment`: a piece of a larger program (uses names defined elsewhere);
 *     counted, not compiled. `<!-- fragment -->` on the line before the
 *     fence says the same.
 *   - `file=NAME.mts`: the name the text tells the reader to save it as.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface CodeBlock {
  /** Path relative to the repository root, e.g. "docs/client.md". */
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  fragment: boolean;
  /** From `file=NAME`, when given. */
  file: string | undefined;
}

const TS_LANGS = new Set(['ts', 'typescript', 'mts', 'tsx']);
const FRAGMENT_COMMENT = /^\s*<!--\s*fragment\b.*-->\s*$/;

/** Every TypeScript block of one Markdown text. */
export function codeBlocks(doc: string, text: string): CodeBlock[] {
  const lines = text.split(/\r?\n/);
  const out: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^`\s]*)\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent = '', fence = '', lang = '', rest = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    const close = new RegExp(`^\\s*${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`);
    for (; j < lines.length && !close.test(lines[j]!); j++) {
      const l = lines[j]!;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart());
    }
    if (TS_LANGS.has(lang.toLowerCase())) {
      const words = rest.split(/\s+/).filter(Boolean);
      out.push({
        doc,
        line: i + 1,
        code: `${body.join('\n')}\n`,
        fragment: words.includes('fragment') || (i > 0 && FRAGMENT_COMMENT.test(lines[i - 1]!)),
        file: words.find((w) => w.startsWith('file='))?.slice('file='.length),
      });
    }
    i = j; // skip past the closing fence (a fence inside a block is text)
  }
  return out;
}

/** README.md and every docs/*.md, in a stable order. */
export function docFiles(root: string): string[] {
  const docs = fs
    .readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

/** Every TypeScript block of README.md and docs/*.md. */
export function allCodeBlocks(root: string): CodeBlock[] {
  return docFiles(root).flatMap((doc) => codeBlocks(doc, fs.readFileSync(path.join(root, doc), 'utf8')));
}
