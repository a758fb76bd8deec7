import { describe, expect, it } from 'vitest';
import { pdfText } from './pdfText';

describe('pdfText', () => {
  it('keeps Latin-1, spells out common symbols and replaces the rest', () => {
    expect(pdfText('Café Straße 5 km/h')).toBe('Café Straße 5 km/h');
    expect(pdfText('—')).toBe('-');
    expect(pdfText('15–60 min … ≤ 5')).toBe('15-60 min ... <= 5');
    expect(pdfText('東京 road')).toBe('?? road');
    expect(pdfText('emoji 🚗')).toBe('emoji ?');
    expect(pdfText('a\nb\u0007c')).toBe('a bc');
  });
});
