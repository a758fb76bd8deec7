import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, describeError, errorFromResponse, fetchAccuracy, fetchAlerts, fetchHealth, fetchHistory, isAbort, withQuery } from './api';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('errorFromResponse', () => {
  it('reads the error envelope', async () => {
    const response = new Response(
      JSON.stringify({ error: { code: 'not_found', message: 'Unknown segment', details: {} }, request_id: 'r1' }),
      { status: 404, statusText: 'Not Found' },
    );
    const error = await errorFromResponse(response);
    expect(error).toBeInstanceOf(ApiError);
    expect([error.status, error.code, error.message, error.requestId]).toEqual([404, 'not_found', 'Unknown segment', 'r1']);
  });

  it('keeps the details and lists the field problems among them', async () => {
    const details = [{ field: 'open_ratio', reason: 'must be below 1' }, { field: 7 }, 'text'];
    const response = new Response(JSON.stringify({ error: { code: 'validation_error', message: 'Invalid rule', details } }), {
      status: 422,
    });
    const error = await errorFromResponse(response);
    expect(error.details).toEqual(details);
    expect(error.fields).toEqual([{ field: 'open_ratio', reason: 'must be below 1' }]);
    expect(new ApiError(500, 'x', 'y').fields).toEqual([]);
  });

  it('falls back to the status line for non-JSON bodies', async () => {
    const error = await errorFromResponse(new Response('<html>', { status: 502, statusText: 'Bad Gateway' }));
    expect([error.code, error.message]).toEqual(['http_error', '502 Bad Gateway']);
  });
});

describe('fetchHistory', () => {
  it('asks for 5-minute windows of the encoded segment', async () => {
    const fetchMock = vi.fn(async (_input: RequestInfo | URL) => new Response('{"segment_id":"A/B","window_minutes":5,"windows":[]}'));
    vi.stubGlobal('fetch', fetchMock);
    await fetchHistory('A/B');
    expect(fetchMock.mock.calls[0]?.[0]).toBe('/api/segments/A%2FB/history?window_minutes=5&limit=288');
  });
});

describe('describeError and isAbort', () => {
  it('shows the message of any error', () => {
    expect(describeError(new ApiError(404, 'not_found', 'Unknown segment'))).toBe('Unknown segment');
    expect(describeError(new Error('boom'))).toBe('boom');
    expect(describeError('plain')).toBe('plain');
  });

  it('recognises aborted requests only', () => {
    expect(isAbort(new DOMException('stopped', 'AbortError'))).toBe(true);
    expect(isAbort(new Error('AbortError'))).toBe(false);
  });
});

describe('shared fetchers', () => {
  const urls = () => {
    const fetchMock = vi.fn(async (_input: RequestInfo | URL) => new Response('{}'));
    vi.stubGlobal('fetch', fetchMock);
    return () => fetchMock.mock.calls.map((c) => String(c[0]));
  };

  it('leave out empty queries and missing values', async () => {
    expect(withQuery('/p')).toBe('/p');
    expect(withQuery('/p', { a: '1', b: undefined, c: null, d: 'x y' })).toBe('/p?a=1&d=x+y');
    expect(withQuery('/p', new URLSearchParams({ state: 'open' }))).toBe('/p?state=open');
    expect(withQuery('/p', 'limit=5')).toBe('/p?limit=5');
  });

  it('ask for alerts and accuracy with the given query', async () => {
    const called = urls();
    await fetchAlerts({ state: 'open', limit: '10' });
    await fetchAlerts();
    await fetchAccuracy();
    await fetchAccuracy({ bucket_minutes: '60', model_version: undefined });
    expect(called()).toEqual([
      '/api/alerts?state=open&limit=10',
      '/api/alerts',
      '/api/predictions/accuracy',
      '/api/predictions/accuracy?bucket_minutes=60',
    ]);
  });

  it('reads a 503 health answer as data', async () => {
    const body = { status: 'degraded', timestamp: 't', version: 'v', checks: { kafka: { status: 'down' } } };
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify(body), { status: 503 })));
    await expect(fetchHealth()).resolves.toEqual(body);
    vi.stubGlobal('fetch', vi.fn(async () => new Response('', { status: 500, statusText: 'Server Error' })));
    await expect(fetchHealth()).rejects.toMatchObject({ status: 500, code: 'http_error' });
  });
});
