// Chart images for PDFs. A chart is drawn again off screen at a fixed width, so
// its text has the same size in every report whatever the window's width, and
// the transparent canvas gets the dark theme's background painted under it.
import uPlot from 'uplot';
import type { PdfImage } from './pdf';

/** Width, in CSS pixels, charts are drawn at for a PDF page (about 7 pt text on A4). */
export const PDF_CHART_WIDTH = 720;

export function canvasImage(canvas: HTMLCanvasElement | null | undefined, background: string): PdfImage | null {
  if (!canvas || canvas.width === 0 || canvas.height === 0) return null;
  const copy = document.createElement('canvas');
  copy.width = canvas.width;
  copy.height = canvas.height;
  const ctx = copy.getContext('2d');
  if (!ctx) return null;
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, copy.width, copy.height);
  ctx.drawImage(canvas, 0, 0);
  return { dataUrl: copy.toDataURL('image/png'), width: copy.width, height: copy.height };
}

/** Draws uPlot `options` with `data` off screen and returns the picture. */
export async function chartImage(
  options: Omit<uPlot.Options, 'width'>,
  data: uPlot.AlignedData,
  background: string,
  width = PDF_CHART_WIDTH,
): Promise<PdfImage | null> {
  if (!data[0]?.length) return null;
  const host = document.createElement('div');
  host.style.cssText = `position:fixed;left:-${width + 100}px;top:0;width:${width}px;`;
  host.setAttribute('aria-hidden', 'true');
  document.body.appendChild(host);
  // Without a legend the canvas is the whole chart; the PDF draws its own legend.
  const plot = new uPlot({ ...options, width, legend: { show: false } }, data, host);
  try {
    // uPlot draws in a microtask after construction.
    await new Promise((resolve) => setTimeout(resolve, 0));
    return canvasImage(plot.ctx.canvas, background);
  } finally {
    plot.destroy();
    host.remove();
  }
}
