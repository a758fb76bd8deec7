import { describe, expect, it } from 'vitest';
import { parsePreferences } from '../../preferences';
import { bandFormFrom, limitText, validateBands } from './bandForm';

const current = { fastAboveMph: 60, slowBelowMph: 30 };

describe('bandFormFrom', () => {
  it('shows the limits in the unit', () => {
    expect(bandFormFrom(current, 'mph')).toEqual({ fast: '60', slow: '30' });
    expect(bandFormFrom(current, 'kmh')).toEqual({ fast: '96.6', slow: '48.3' });
    expect(limitText(62.5, 'mph')).toBe('62.5');
  });
});

describe('validateBands', () => {
  it('stores mph, converting from km/h', () => {
    const { limits, errors } = validateBands({ fast: '100', slow: '40' }, 'kmh', current);
    expect(errors).toEqual({});
    expect(limits?.fastAboveMph).toBeCloseTo(62.137, 3);
    expect(limits?.slowBelowMph).toBeCloseTo(24.855, 3);
  });

  it('keeps an untouched limit exactly (no rounding round trip)', () => {
    const exact = { fastAboveMph: 61.234, slowBelowMph: 30 };
    const form = { ...bandFormFrom(exact, 'kmh'), slow: '40' };
    expect(validateBands(form, 'kmh', exact).limits?.fastAboveMph).toBe(61.234);
  });

  it.each([
    [{ fast: '60', slow: '60' }, 'fast', /Above the red limit/],
    [{ fast: '50', slow: '70' }, 'fast', /Above the red limit \(70 mph\)/],
    [{ fast: '', slow: '30' }, 'fast', /A speed in mph/],
    [{ fast: '60', slow: 'x' }, 'slow', /A speed in mph/],
    [{ fast: '60', slow: '0' }, 'slow', /Above 0/],
    [{ fast: '60', slow: '-3' }, 'slow', /A speed/],
    [{ fast: '201', slow: '30' }, 'fast', /At most 200 mph/],
  ])('%o → error on %s', (form, field, reason) => {
    const { limits, errors } = validateBands(form, 'mph', current);
    expect(limits).toBeNull();
    expect(errors[field as 'fast' | 'slow']).toMatch(reason);
  });

  it('only lets through limits the stored preferences keep', () => {
    for (const form of [
      { fast: '200', slow: '199.9' },
      { fast: '321.8', slow: '1' },
      { fast: '0.2', slow: '0.1' },
    ]) {
      for (const unit of ['mph', 'kmh'] as const) {
        const { limits } = validateBands(form, unit, current);
        if (!limits) continue;
        const stored = parsePreferences(JSON.stringify({ unit, ...limits }));
        expect(stored).toEqual({ unit, ...limits });
      }
    }
  });
});
