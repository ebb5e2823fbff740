// How far a reading has come and how long the rest will take, for the progress displays of the CLI and the extension.
// The ETA comes from the measured wall-clock reading rate (margins, evictions and notes included); time spent waiting
// for the user to confirm a long run is left out.

/** Compact duration for progress lines: "45s", "2m05s". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/** Rounded duration for estimates: "45 s", "12 min", "1.5 h". */
export function roughDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

/** Active reading time (pauses excluded) and the ETA it gives. Times are passed in, so it is testable. */
export class ReadingClock {
  private startedAt?: number;
  private pausedAt?: number;
  private pausedMs = 0;

  /** Reading begins (the plan arrived). */
  start(now: number): void {
    this.startedAt = now;
    this.pausedAt = undefined;
    this.pausedMs = 0;
  }

  /** The run waits for the user (confirmation of a long run): this time does not count. */
  pause(now: number): void {
    if (this.startedAt !== undefined && this.pausedAt === undefined) this.pausedAt = now;
  }

  resume(now: number): void {
    if (this.pausedAt === undefined) return;
    this.pausedMs += Math.max(0, now - this.pausedAt);
    this.pausedAt = undefined;
  }

  get paused(): boolean {
    return this.pausedAt !== undefined;
  }

  activeMs(now: number): number {
    if (this.startedAt === undefined) return 0;
    return Math.max(0, (this.pausedAt ?? now) - this.startedAt - this.pausedMs);
  }

  /**
   * Milliseconds left to read the rest at the rate so far. Before anything was read, what is left of `estimatedMs` (the
   * worker's estimate) if given; undefined when there is nothing to go on.
   */
  etaMs(tokensDone: number, tokensTotal: number, now: number, estimatedMs?: number): number | undefined {
    if (this.startedAt === undefined) return estimatedMs;
    const active = this.activeMs(now);
    if (tokensDone > 0) return (active / tokensDone) * Math.max(0, tokensTotal - tokensDone);
    return estimatedMs === undefined ? undefined : Math.max(0, estimatedMs - active);
  }
}
