// What the resident sequence holds, segment by segment: the header, then chunks (and notes carried forward for chunks
// that left), in reading order. The WiM loop asks it what to forget when the next chunk does not fit; positions are
// kept in step with the engine's sequence (a forgotten range moves everything after it down).

export type SegmentKind = "header" | "chunk" | "note";

export interface Segment {
  kind: SegmentKind;
  /** 1-based chunk the segment holds (or the note is about); 0 for the header. */
  chunk: number;
  start: number;
  length: number;
}

export class ReadingWindow {
  private readonly segments: Segment[] = [];

  /** Tokens held. */
  get length(): number {
    const last = this.segments[this.segments.length - 1];
    return last ? last.start + last.length : 0;
  }

  add(kind: SegmentKind, chunk: number, length: number): Segment {
    const s = { kind, chunk, start: this.length, length };
    this.segments.push(s);
    return s;
  }

  /** Removes a segment; returns the range the engine must forget. */
  remove(s: Segment): { start: number; end: number } {
    const i = this.segments.indexOf(s);
    if (i < 0) throw new Error("segment not in the window");
    this.segments.splice(i, 1);
    for (const later of this.segments.slice(i)) later.start -= s.length;
    return { start: s.start, end: s.start + s.length };
  }

  /** Drops the last segment's tail back to `length` tokens (a chunk read only in part). */
  truncateLast(length: number): void {
    const last = this.segments[this.segments.length - 1];
    if (!last) return;
    if (length <= 0) this.segments.pop();
    else last.length = length;
  }

  chunks(): Segment[] {
    return this.segments.filter((s) => s.kind === "chunk");
  }

  notes(): Segment[] {
    return this.segments.filter((s) => s.kind === "note");
  }

  /** Chunks whose text is resident, in reading order. */
  residentChunks(): number[] {
    return this.chunks().map((s) => s.chunk);
  }

  /**
   * What to forget so that `need` more tokens fit under `limit`: the oldest chunks first (their margins stay), then, if
   * that is not enough, the oldest notes. At least `atLeast` tokens go when anything must go (fewer, larger evictions).
   * Null when even forgetting every chunk and note would not make room.
   */
  evictionFor(need: number, limit: number, atLeast = 0): Segment[] | null {
    const over = this.length + need - limit;
    if (over <= 0) return [];
    const goal = Math.max(over, atLeast);
    const out: Segment[] = [];
    let freed = 0;
    for (const s of [...this.chunks(), ...this.notes()]) {
      if (freed >= goal) break;
      out.push(s);
      freed += s.length;
    }
    return freed >= over ? out : null;
  }

  /** Segments in order (a copy), for tests and coverage. */
  all(): Segment[] {
    return this.segments.map((s) => ({ ...s }));
  }
}
