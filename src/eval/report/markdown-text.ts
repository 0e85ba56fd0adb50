/**
 * Text `report.md` does not control — dataset item ids and questions, the models' answers, the judge's
 * reasoning, target and dataset names — made inert in Markdown, as `report.html` escapes it for HTML
 * (`esc`): an answer holding `<img src=x onerror=…>`, `### heading`, `[link](…)` or a table row must show
 * as that text in a pull request comment or a CI summary, not become HTML or structure.
 *
 * @example
 * mdText('<b>bold</b> *x*');   // '&lt;b&gt;bold&lt;/b&gt; \\*x\\*'
 * mdCode('gpt-4o`x');           // '``gpt-4o`x``'
 */

/** Characters with a meaning anywhere in a line: backslash-escaped (CommonMark escapes any ASCII punctuation). */
const INLINE = /[\\`*_[\]|~#]/g;
/** What starts a block at the beginning of a line: a list item, a setext underline, an ordered list. */
const LINE_START = /^(\s*)([-+=]|\d{1,9}[.)])/;

function escapeLine(line: string): string {
  const inert = line
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(INLINE, (c) => `\\${c}`);
  return inert.replace(LINE_START, (_m, space: string, marker: string) =>
    /^\d/.test(marker) ? `${space}${marker.slice(0, -1)}\\${marker.slice(-1)}` : `${space}\\${marker}`,
  );
}

/** One line of text (a heading, a table cell, a list item): line breaks become spaces. */
export function mdText(text: string): string {
  return escapeLine(text.replace(/\r?\n|\r/g, ' '));
}

/** Text of several lines (a question, an answer), each line escaped; the lines stay lines. */
export function mdLines(text: string): string[] {
  return text.split(/\r?\n|\r/).map(escapeLine);
}

/**
 * A code span holding `text` as is: a fence of more backticks than any run inside it (CommonMark). In a
 * table cell (`inTable`), `|` is escaped too: GFM ends the cell at a bare one even inside a code span.
 */
export function mdCode(text: string, inTable = false): string {
  const line = text.replace(/\r?\n|\r/g, ' ');
  const flat = inTable ? line.replace(/\|/g, '\\|') : line;
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}
