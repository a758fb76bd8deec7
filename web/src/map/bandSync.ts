// Pushes speed bands into MapLibre feature-state, skipping segments whose band
// did not change (most updates only move a speed within its band). One instance
// per coloured layer: live/history speeds under "band", forecasts under "fband".
import { DEFAULT_THRESHOLDS, speedBand, type Band, type BandThresholds } from '../bands';

export interface FeatureStateTarget {
  setFeatureState(feature: { source: string; id: number }, state: Record<string, unknown>): void;
}

export type SpeedOf = (segmentId: string) => number | null | undefined;

export class BandStateSync {
  private readonly applied = new Map<number, Band>();
  private limits: BandThresholds = DEFAULT_THRESHOLDS;

  constructor(
    private readonly target: FeatureStateTarget,
    private readonly source: string,
    private readonly featureIds: ReadonlyMap<string, number>,
    private readonly stateKey: string = 'band',
  ) {}

  /**
   * Takes the operator's band limits; true when they differ from the previous
   * ones, i.e. every segment has to be re-banded (update over all ids).
   */
  setLimits(limits: BandThresholds): boolean {
    const changed =
      limits.fastAboveMph !== this.limits.fastAboveMph || limits.slowBelowMph !== this.limits.slowBelowMph;
    this.limits = { fastAboveMph: limits.fastAboveMph, slowBelowMph: limits.slowBelowMph };
    return changed;
  }

  /** Forgets what was applied (the map lost its feature-state, e.g. a new style). */
  reset(): void {
    this.applied.clear();
  }

  /** The band last applied to a segment (tests and the test hooks read it). */
  bandOf(segmentId: string): Band | undefined {
    const id = this.featureIds.get(segmentId);
    return id === undefined ? undefined : this.applied.get(id);
  }

  /** Returns how many features got a new band. */
  update(segmentIds: Iterable<string>, speedOf: SpeedOf): number {
    let updated = 0;
    for (const segmentId of segmentIds) {
      const id = this.featureIds.get(segmentId);
      if (id === undefined) continue;
      const band = speedBand(speedOf(segmentId), this.limits);
      if (this.applied.get(id) === band) continue;
      this.applied.set(id, band);
      this.target.setFeatureState({ source: this.source, id }, { [this.stateKey]: band });
      updated += 1;
    }
    return updated;
  }
}
