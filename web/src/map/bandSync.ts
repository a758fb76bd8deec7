// Pushes speed bands into MapLibre feature-state, skipping segments whose band
// did not change (most updates only move a speed within its band).
import { speedBand, type Band } from '../bands';
import type { Reading } from '../types';

export interface FeatureStateTarget {
  setFeatureState(feature: { source: string; id: number }, state: Record<string, unknown>): void;
}

export class BandStateSync {
  private readonly applied = new Map<number, Band>();

  constructor(
    private readonly target: FeatureStateTarget,
    private readonly source: string,
    private readonly featureIds: ReadonlyMap<string, number>,
  ) {}

  /** Returns how many features got a new band. */
  update(segmentIds: Iterable<string>, readingOf: (segmentId: string) => Reading | undefined): number {
    let updated = 0;
    for (const segmentId of segmentIds) {
      const id = this.featureIds.get(segmentId);
      if (id === undefined) continue;
      const band = speedBand(readingOf(segmentId)?.speed);
      if (this.applied.get(id) === band) continue;
      this.applied.set(id, band);
      this.target.setFeatureState({ source: this.source, id }, { band });
      updated += 1;
    }
    return updated;
  }
}
