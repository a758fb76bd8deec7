import { describe, expect, it, vi } from 'vitest';
import type uPlot from 'uplot';
import { drawGuides, formatAxisTime, utcDate } from './chartKit';

describe('chart kit', () => {
  it('labels the axis on the UTC clock', () => {
    expect(formatAxisTime(Date.parse('2026-01-05T08:05:00Z') / 1000)).toBe('08:05');
    expect(utcDate(0).getHours()).toBe(0);
  });

  it('draws the guides that fall on the plot only', () => {
    const ctx = {
      save: vi.fn(),
      restore: vi.fn(),
      setLineDash: vi.fn(),
      beginPath: vi.fn(),
      moveTo: vi.fn(),
      lineTo: vi.fn(),
      stroke: vi.fn(),
      lineWidth: 0,
      strokeStyle: '',
      globalAlpha: 1,
    };
    vi.stubGlobal('devicePixelRatio', 1);
    // y: value 0..100 over pixels 100..0; x: 0..10 s over pixels 0..100.
    const u = {
      ctx,
      bbox: { left: 0, top: 0, width: 100, height: 100 },
      scales: { x: { min: 0, max: 10 } },
      valToPos: (v: number, axis: string) => (axis === 'y' ? 100 - v : v * 10),
    } as unknown as uPlot;
    drawGuides(u, { levels: [[60, 'green'], [130, 'red']], levelAlpha: 0.5, marker: 5, markerAlpha: 0.7 });
    expect(ctx.stroke).toHaveBeenCalledTimes(2); // the 130 line is above the plot
    expect(ctx.moveTo.mock.calls).toEqual([
      [0, 40],
      [50, 0],
    ]);
    drawGuides(u, { levels: [], levelAlpha: 0.5, marker: 20, markerAlpha: 0.7 });
    expect(ctx.stroke).toHaveBeenCalledTimes(2); // the marker is past the plot's end
    vi.unstubAllGlobals();
  });
});
