// Training job display: progress, stage text, elapsed time and the days field.
import type { TrainingJob } from './api';

export const MIN_DAYS = 1;
export const MAX_DAYS = 56;

export function isActive(job: Pick<TrainingJob, 'state'> | null | undefined): boolean {
  return job?.state === 'queued' || job?.state === 'running';
}

/** Whole percent for the bar; 100 only once the job is really done. */
export function progressPercent(job: Pick<TrainingJob, 'state' | 'progress'>): number {
  if (job.state === 'succeeded') return 100;
  const p = Number.isFinite(job.progress) ? Math.min(Math.max(job.progress, 0), 1) : 0;
  return Math.min(Math.floor(p * 100), 99);
}

/** What the bar says: "42 % · training speed: gbm (5/12)". */
export function progressLabel(job: Pick<TrainingJob, 'state' | 'progress' | 'stage' | 'error' | 'version'>): string {
  switch (job.state) {
    case 'queued':
      return 'Queued';
    case 'running':
      return `${progressPercent(job)} % · ${job.stage}`;
    case 'succeeded':
      return job.version ? `Done · registered ${job.version}` : 'Done';
    case 'failed':
      return `Failed: ${job.error ?? 'unknown error'}`;
  }
}

/** "45 s", "3 min 05 s", "1 h 02 min" from started to finished (or `nowMs`). */
export function elapsed(job: Pick<TrainingJob, 'started_at' | 'finished_at'>, nowMs: number): string {
  if (!job.started_at) return '';
  const start = Date.parse(job.started_at);
  const end = job.finished_at ? Date.parse(job.finished_at) : nowMs;
  if (!Number.isFinite(start) || !Number.isFinite(end)) return '';
  const seconds = Math.max(0, Math.round((end - start) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** The days field: a whole number of days from MIN_DAYS to MAX_DAYS. */
export function parseDays(text: string): { days: number } | { error: string } {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) return { error: `Enter a whole number of days from ${MIN_DAYS} to ${MAX_DAYS}.` };
  const days = Number(trimmed);
  if (days < MIN_DAYS || days > MAX_DAYS) return { error: `Days must be from ${MIN_DAYS} to ${MAX_DAYS}.` };
  return { days };
}
