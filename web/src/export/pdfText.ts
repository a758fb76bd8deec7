// jsPDF's built-in fonts (Helvetica) encode WinAnsi only; characters outside it
// print as garbage, so report text is folded to what those fonts can draw.

const REPLACEMENTS: Record<string, string> = {
  '\u2014': '-', // em dash, the tables' "missing"
  '\u2013': '-',
  '\u2212': '-',
  '\u2026': '...',
  '\u2018': "'",
  '\u2019': "'",
  '\u201c': '"',
  '\u201d': '"',
  '\u2264': '<=',
  '\u2265': '>=',
  '\u2192': '->',
  '\u00a0': ' ',
};

/** Text the PDF's standard fonts can draw: Latin-1 kept, a few symbols spelled out, the rest "?". */
export function pdfText(text: string): string {
  let out = '';
  for (const ch of text) {
    const replacement = REPLACEMENTS[ch];
    if (replacement !== undefined) out += replacement;
    else if (ch === '\n' || ch === '\t') out += ' ';
    else if (ch.charCodeAt(0) < 0x20) out += '';
    else out += ch.codePointAt(0)! <= 0xff ? ch : '?';
  }
  return out;
}
