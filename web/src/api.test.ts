import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, errorFromResponse, fetchHistory } from './api';

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
