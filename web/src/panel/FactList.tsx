// A row of labelled figures (a <dl>), as the detail panel and the segment page show a segment.
import type { ReactNode } from 'react';

export type Fact = readonly [label: string, value: ReactNode];

export function FactList({ className, facts }: { className: string; facts: readonly Fact[] }) {
  return (
    <dl className={`${className} fact-list`}>
      {facts.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
