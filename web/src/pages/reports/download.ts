// Downloads a report file through the signed-in transport (a plain link would go
// without the bearer token), reporting the bytes received as they arrive.
import { apiFetch, errorFromResponse } from '../../api';

/** The file name a Content-Disposition header gives, made safe; `fallback` when none. */
export function filenameFrom(header: string | null, fallback: string): string {
  if (!header) return fallback;
  let name: string | null = null;
  const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (extended?.[1]) {
    try {
      name = decodeURIComponent(extended[1].trim());
    } catch {
      name = null;
    }
  }
  if (!name) {
    const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/.exec(header);
    name = plain ? (plain[1] ?? plain[2] ?? '').replace(/\\(.)/g, '$1') : null;
  }
  // Only a base name, printable, without path separators or leading dots.
  const safe = (name ?? '')
    .replace(/[\\/]/g, '_')
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .replace(/^\.+/, '')
    .trim();
  return safe || fallback;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** "12.0 kB of 40.0 kB (30 %)", or "12.0 kB" when the total is not known (a streamed CSV). */
export function progressText(received: number, total: number | null): string {
  if (total === null || total <= 0) return `${formatBytes(received)} received`;
  const pct = Math.min(100, Math.floor((received / total) * 100));
  return `${formatBytes(received)} of ${formatBytes(total)} (${pct} %)`;
}

export interface Downloaded {
  blob: Blob;
  filename: string;
}

/** GETs `path`, calling `onProgress(received, total)` per chunk; errors as ApiError. */
export async function fetchFile(
  path: string,
  fallbackName: string,
  onProgress: (received: number, total: number | null) => void,
  signal?: AbortSignal,
): Promise<Downloaded> {
  const response = await apiFetch(path, { signal });
  if (!response.ok) throw await errorFromResponse(response);
  const length = Number(response.headers.get('Content-Length'));
  const total = Number.isFinite(length) && length > 0 ? length : null;
  const type = response.headers.get('Content-Type') ?? 'application/octet-stream';
  const filename = filenameFrom(response.headers.get('Content-Disposition'), fallbackName);
  const chunks: Uint8Array[] = [];
  let received = 0;
  onProgress(0, total);
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.byteLength;
      onProgress(received, total);
    }
  } else {
    const buffer = new Uint8Array(await response.arrayBuffer());
    chunks.push(buffer);
    received = buffer.byteLength;
    onProgress(received, total);
  }
  return { blob: new Blob(chunks as BlobPart[], { type }), filename };
}
