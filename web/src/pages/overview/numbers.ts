// Number formatting shared by the overview and segment pages.

const grouped = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** "12,345"; "—" when unknown. */
export function formatCount(value: number | null | undefined): string {
  return value == null || !Number.isFinite(value) ? '—' : grouped.format(value);
}

/** Fixed decimals; "—" when unknown. */
export function formatFixed(value: number | null | undefined, digits = 1): string {
  return value == null || !Number.isFinite(value) ? '—' : value.toFixed(digits);
}

/** Events per second: one decimal below 100, whole numbers with separators above. */
export function formatRate(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return '—';
  return value < 100 ? value.toFixed(1) : grouped.format(value);
}

/** A share in [0, 1] as "83 %". */
export function formatPercent(value: number | null | undefined): string {
  if (value == null || !Number.isFinite(value)) return '—';
  // A few segments of thousands are not "0 %".
  if (value > 0 && value < 0.005) return '< 1 %';
  return `${Math.round(value * 100)} %`;
}

/** "45 s", "12 min", "3 h 05 min", "2 d 4 h". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.floor(seconds);
  if (s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${String(minutes % 60).padStart(2, '0')} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}
