// A titled card of the page with its export actions and load state.
import type { ReactNode } from 'react';

export interface SectionProps {
  id: string;
  title: string;
  note?: ReactNode;
  actions?: ReactNode;
  /** "loading" | "ready" | "error" | "empty": read by the browser checks. */
  state: string;
  data?: Record<string, string | number | undefined>;
  wide?: boolean;
  children: ReactNode;
}

export function Section({ id, title, note, actions, state, data, wide = true, children }: SectionProps) {
  const attributes = Object.fromEntries(
    Object.entries(data ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [`data-${k}`, String(v)]),
  );
  return (
    <section
      className={wide ? 'card analytics-section analytics-section-wide' : 'card analytics-section'}
      aria-labelledby={`${id}-title`}
      aria-busy={state === 'loading'}
      data-testid={`${id}-section`}
      data-state={state}
      {...attributes}
    >
      <header className="analytics-section-header">
        <div>
          <h2 id={`${id}-title`}>{title}</h2>
          {note && <p className="analytics-note">{note}</p>}
        </div>
        {actions && <div className="analytics-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

export function Message({ children, tone = 'muted' }: { children: ReactNode; tone?: 'muted' | 'error' }) {
  return (
    <p className={tone === 'error' ? 'analytics-message analytics-message-error' : 'analytics-message'} role={tone === 'error' ? 'alert' : undefined}>
      {children}
    </p>
  );
}

/** "2026-11-19 – 2026-11-26 (UTC)" for [start, end). */
export function rangeText(range: { start: string; end: string }): string {
  const from = new Date(Date.parse(range.start)).toISOString().slice(0, 10);
  const to = new Date(Date.parse(range.end) - 1).toISOString().slice(0, 10);
  return from === to ? `${from} (UTC)` : `${from} – ${to} (UTC)`;
}
