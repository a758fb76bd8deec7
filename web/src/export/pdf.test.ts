import { describe, expect, it } from 'vitest';
import { renderPdf } from './pdf';

// A valid 1×1 PNG.
const PIXEL =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

/** The PDF's text with every Flate stream inflated (the page contents are compressed). */
async function readablePdf(blob: Blob): Promise<string> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const raw = new TextDecoder('latin1').decode(bytes);
  const parts = [raw];
  const streams = /stream\r?\n/g;
  let match: RegExpExecArray | null;
  while ((match = streams.exec(raw)) !== null) {
    const start = match.index + match[0].length;
    const end = raw.indexOf('endstream', start);
    if (end < 0) break;
    try {
      const inflated = new Blob([bytes.slice(start, end)]).stream().pipeThrough(new DecompressionStream('deflate'));
      parts.push(new TextDecoder('latin1').decode(await new Response(inflated).arrayBuffer()));
    } catch {
      // not a Flate stream (or its trailing newline upset the inflater): its text is in `raw`
    }
  }
  return parts.join('\n');
}

describe('renderPdf', () => {
  it('builds a searchable PDF with every section, table row and page footer', async () => {
    const steps: string[] = [];
    const body = Array.from({ length: 120 }, (_, i) => [`segment-${i}`, String(i * 1.5)]);
    const blob = await renderPdf(
      {
        title: 'Analytics report',
        subtitle: 'Daily — 2026-01-01 to 2026-01-14 (mph)',
        sections: [
          {
            title: 'Traffic summary',
            blocks: [
              { kind: 'chart', title: 'Speed and volume', image: { dataUrl: PIXEL, width: 800, height: 240 }, legend: [{ label: 'Avg speed', color: '#4ea8ff' }] },
              { kind: 'table', title: 'Per day', head: ['Segment', 'Value'], body, align: ['left', 'right'] },
            ],
          },
          { title: 'System performance', blocks: [{ kind: 'text', text: 'No chart here' }, { kind: 'chart', title: 'Empty', image: null, legend: [] }] },
        ],
      },
      (message) => steps.push(message),
    );
    const text = await readablePdf(blob);
    expect(text.startsWith('%PDF-')).toBe(true);
    expect(new TextDecoder('latin1').decode(await blob.arrayBuffer())).toContain('/FlateDecode');
    expect(text).toContain('(Analytics report)');
    expect(text).toContain('segment-119');
    expect(text).toContain('System performance');
    expect(text).toContain('Daily - 2026-01-01'); // the em dash folded for the standard font
    expect(text).toMatch(/\(page (\d+) of \1\)/); // the last page knows it is the last
    expect(text).toContain('/Subtype /Image');
    expect(steps[0]).toMatch(/Loading/);
    expect(steps).toContain('Drawing System performance (2 of 2)…');
  });
});
