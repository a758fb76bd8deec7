// Report PDFs: titled sections of charts (as images), tables and key figures.
// jsPDF and its table plugin (~150 kB gzip) are fetched only when the user
// exports, so no page's first load carries them.
import { pdfText } from './pdfText';

export interface PdfImage {
  dataUrl: string;
  /** Pixels; only the aspect ratio matters on the page. */
  width: number;
  height: number;
}

export interface PdfLegendItem {
  label: string;
  color: string;
}

export type PdfBlock =
  | { kind: 'chart'; title: string; image: PdfImage | null; legend: readonly PdfLegendItem[] }
  | { kind: 'table'; title: string; head: readonly string[]; body: readonly (readonly string[])[]; align?: readonly ('left' | 'right')[] }
  | { kind: 'text'; text: string };

export interface PdfSection {
  title: string;
  /** e.g. the range and unit the section covers. */
  subtitle?: string;
  blocks: readonly PdfBlock[];
}

export interface PdfReport {
  title: string;
  subtitle: string;
  sections: readonly PdfSection[];
}

export type PdfProgress = (message: string) => void;

const MARGIN = 14; // mm
const ACCENT: [number, number, number] = [38, 99, 168];
const MUTED: [number, number, number] = [96, 104, 116];
const TEXT: [number, number, number] = [24, 28, 34];

/** Lets the page repaint (progress text) between steps of a long build. */
function nextFrame(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function hexColor(color: string): [number, number, number] {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color.trim());
  if (!m) return MUTED;
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

/** Builds the report; `onProgress` hears what it is doing (loading, section n of m). */
export async function renderPdf(report: PdfReport, onProgress: PdfProgress = () => undefined): Promise<Blob> {
  onProgress('Loading the PDF library…');
  const [{ jsPDF }, { autoTable }] = await Promise.all([import('jspdf'), import('jspdf-autotable')]);
  // Compressed page streams: a long table is a fifth of its uncompressed size.
  const doc = new jsPDF({ unit: 'mm', format: 'a4', orientation: 'portrait', compress: true });
  doc.setProperties({ title: pdfText(report.title), subject: pdfText(report.subtitle), creator: 'trafficcast' });
  const pageWidth = doc.internal.pageSize.getWidth();
  const pageHeight = doc.internal.pageSize.getHeight();
  const contentWidth = pageWidth - 2 * MARGIN;
  const bottom = pageHeight - MARGIN - 6; // room for the footer
  let y = MARGIN;

  const ensureRoom = (height: number) => {
    if (y + height > bottom) {
      doc.addPage();
      y = MARGIN;
    }
  };

  const heading = (text: string, size: number, color: [number, number, number] = TEXT) => {
    doc.setFont('helvetica', 'bold');
    doc.setFontSize(size);
    doc.setTextColor(...color);
    const lines = doc.splitTextToSize(pdfText(text), contentWidth) as string[];
    const height = lines.length * size * 0.42;
    ensureRoom(height + 2);
    doc.text(lines, MARGIN, y + size * 0.35);
    y += height + 2;
  };

  const paragraph = (text: string, size = 9, color: [number, number, number] = MUTED) => {
    doc.setFont('helvetica', 'normal');
    doc.setFontSize(size);
    doc.setTextColor(...color);
    const lines = doc.splitTextToSize(pdfText(text), contentWidth) as string[];
    const height = lines.length * size * 0.45;
    ensureRoom(height);
    doc.text(lines, MARGIN, y + size * 0.35);
    y += height + 1.5;
  };

  heading(report.title, 18);
  paragraph(report.subtitle, 10);
  y += 3;

  for (const [index, section] of report.sections.entries()) {
    onProgress(`Drawing ${section.title} (${index + 1} of ${report.sections.length})…`);
    await nextFrame();
    if (index > 0 && y > MARGIN + 60) {
      doc.addPage();
      y = MARGIN;
    }
    doc.setDrawColor(...ACCENT);
    doc.setLineWidth(0.6);
    ensureRoom(20);
    doc.line(MARGIN, y, MARGIN + contentWidth, y);
    y += 3;
    heading(section.title, 14, ACCENT);
    if (section.subtitle) paragraph(section.subtitle);
    y += 1;
    for (const block of section.blocks) {
      if (block.kind === 'text') {
        paragraph(block.text, 9, TEXT);
        continue;
      }
      if (block.kind === 'chart') {
        const height = block.image ? (contentWidth * block.image.height) / block.image.width : 10;
        ensureRoom(height + 16);
        heading(block.title, 11);
        if (block.image) {
          // FAST deflates the pixels; without it jsPDF stores them raw (~0.5 MB a chart).
          doc.addImage(block.image.dataUrl, 'PNG', MARGIN, y, contentWidth, height, undefined, 'FAST');
          y += height + 2;
        } else {
          paragraph('No data to chart.');
        }
        let x = MARGIN;
        doc.setFont('helvetica', 'normal');
        doc.setFontSize(8);
        for (const item of block.legend) {
          const label = pdfText(item.label);
          const width = doc.getTextWidth(label) + 8;
          if (x + width > MARGIN + contentWidth) {
            x = MARGIN;
            y += 5;
          }
          doc.setFillColor(...hexColor(item.color));
          doc.rect(x, y + 0.6, 3, 3, 'F');
          doc.setTextColor(...TEXT);
          doc.text(label, x + 4.5, y + 3.2);
          x += width + 2;
        }
        y += block.legend.length ? 9 : 4;
        continue;
      }
      ensureRoom(24);
      heading(block.title, 11);
      const align = block.align ?? [];
      autoTable(doc, {
        startY: y,
        margin: { left: MARGIN, right: MARGIN, bottom: MARGIN + 6 },
        head: [block.head.map(pdfText)],
        body: block.body.map((row) => row.map(pdfText)),
        theme: 'striped',
        styles: { font: 'helvetica', fontSize: 8, cellPadding: 1.4, textColor: TEXT, overflow: 'linebreak' },
        headStyles: { fillColor: ACCENT, textColor: [255, 255, 255], fontStyle: 'bold' },
        columnStyles: Object.fromEntries(align.map((a, i) => [i, { halign: a }])),
        // columnStyles reach the body only; headers line up with their numbers too.
        didParseCell: (cell) => {
          const halign = align[cell.column.index];
          if (cell.section === 'head' && halign) cell.cell.styles.halign = halign;
        },
      });
      const finalY = (doc as unknown as { lastAutoTable?: { finalY?: number } }).lastAutoTable?.finalY;
      y = (finalY ?? y) + 7;
      await nextFrame();
    }
  }

  const pages = doc.getNumberOfPages();
  for (let page = 1; page <= pages; page++) {
    doc.setPage(page);
    doc.setFont('helvetica', 'normal');
    doc.setFontSize(8);
    doc.setTextColor(...MUTED);
    doc.text(pdfText(`trafficcast - ${report.title}`), MARGIN, pageHeight - MARGIN + 2);
    doc.text(`page ${page} of ${pages}`, pageWidth - MARGIN, pageHeight - MARGIN + 2, { align: 'right' });
  }
  onProgress('Saving…');
  return doc.output('blob');
}
