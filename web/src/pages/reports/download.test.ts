import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, setTransport } from '../../api';
import { fetchFile, filenameFrom, formatBytes, progressText } from './download';

afterEach(() => setTransport(null));

describe('file names', () => {
  it('takes the server name, quoted or not, or the extended UTF-8 one', () => {
    expect(filenameFrom('attachment; filename="performance-day-2026-11-20-2026-11-27.csv"', 'x.csv')).toBe(
      'performance-day-2026-11-20-2026-11-27.csv',
    );
    expect(filenameFrom('attachment; filename=report.pdf', 'x.pdf')).toBe('report.pdf');
    expect(filenameFrom("attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf; filename=\"r.pdf\"", 'x.pdf')).toBe('résumé.pdf');
  });

  it('never lets a name leave the download folder or be empty', () => {
    expect(filenameFrom('attachment; filename="../../etc/passwd"', 'x.csv')).toBe('_.._etc_passwd');
    expect(filenameFrom('attachment; filename="..."', 'x.csv')).toBe('x.csv');
    expect(filenameFrom('attachment', 'x.csv')).toBe('x.csv');
    expect(filenameFrom(null, 'x.csv')).toBe('x.csv');
  });
});

describe('progress', () => {
  it('reads sizes and the share received', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2048)).toBe('2.0 kB');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MB');
    expect(progressText(1024, 4096)).toBe('1.0 kB of 4.0 kB (25 %)');
    expect(progressText(1024, null)).toBe('1.0 kB received');
  });
});

describe('fetchFile', () => {
  it('sends through the installed transport and reports each chunk', async () => {
    const seen: string[] = [];
    setTransport(async (path) => {
      seen.push(path);
      const parts = ['scope,vmt\r\n', 'total,1\r\n'];
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const p of parts) controller.enqueue(new TextEncoder().encode(p));
          controller.close();
        },
      });
      return new Response(body, {
        headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': 'attachment; filename="r.csv"' },
      });
    });
    const progress: [number, number | null][] = [];
    const file = await fetchFile('/api/reports/performance?format=csv', 'fallback.csv', (r, t) => progress.push([r, t]));
    expect(seen).toEqual(['/api/reports/performance?format=csv']);
    expect(file.filename).toBe('r.csv');
    expect(await file.blob.text()).toBe('scope,vmt\r\ntotal,1\r\n');
    expect(progress).toEqual([
      [0, null],
      [11, null],
      [20, null],
    ]);
  });

  it('turns an error envelope into an ApiError', async () => {
    setTransport(
      async () =>
        new Response(JSON.stringify({ error: { code: 'forbidden', message: 'needs analyst', details: [] }, request_id: 'r1' }), {
          status: 403,
          headers: { 'Content-Type': 'application/json' },
        }),
    );
    const failure = fetchFile('/x', 'x.csv', () => undefined);
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({ status: 403, message: 'needs analyst' });
  });
});
