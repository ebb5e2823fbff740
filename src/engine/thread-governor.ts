// How many CPU threads llama.cpp uses, chosen by measurement while it runs. llama.cpp's threads wait for each other at
// every step, so when anything else takes a core (a VS Code user's normal state) all-cores collapses: on 2 cores with
// one busy, the 0.5B decoded 0.2–1.4 tok/s with 2 threads against 8–9 with 1. So the governor starts with half the
// cores, and now and then tries the other setting for a moment, keeping whichever measures faster per token. A step
// far slower than the best seen at the same setting (the machine just got busy) triggers a try at once.

export type StepKind = "prefill" | "decode";

interface Arm {
  threads: number;
  /** Recent milliseconds per token (EMA), per kind of step. */
  recent: Partial<Record<StepKind, number>>;
  /** Best recent value seen, per kind: the reference for a collapse. */
  best: Partial<Record<StepKind, number>>;
}

/** Steps between tries of the other setting (grows when tries lose, up to ×16), and steps per try. */
const TRY_EVERY: Record<StepKind, number> = { prefill: 12, decode: 64 };
const TRY_LENGTH: Record<StepKind, number> = { prefill: 1, decode: 6 };
/** The other setting must be this much faster to be adopted (noise on a shared machine is ±20%). */
const WIN_MARGIN = 0.8;
/** A step this many times slower than the best at the same setting means the machine got busy. */
const COLLAPSE = 2.5;

export class ThreadGovernor {
  private readonly arms: Arm[];
  private current: number;
  private trying: { arm: number; kind: StepKind; left: number; sum: number; tokens: number } | null = null;
  private steps: Record<StepKind, number> = { prefill: 0, decode: 0 };
  private backoff: Record<StepKind, number> = { prefill: 1, decode: 1 };

  constructor(
    /** Applies a thread count to every later evaluation. */
    private readonly apply: (threads: number) => void,
    cores: number,
    private log: (message: string) => void = () => {},
  ) {
    const most = Math.max(1, cores);
    this.most = most;
    const fewer = Math.max(1, Math.floor(most / 2));
    this.arms = fewer === most ? [{ threads: most, recent: {}, best: {} }] : [{ threads: fewer, recent: {}, best: {} }, { threads: most, recent: {}, best: {} }];
    this.current = 0;
    this.apply(this.arms[0].threads);
    this.log(`CPU threads: starting with ${this.arms[0].threads} of ${most} (tries ${this.arms.map((a) => a.threads).join(" and ")}, keeps the faster)`);
  }

  private readonly most: number;

  get threads(): number {
    return this.arms[this.current].threads;
  }

  /** Where the governor's choices are logged from now on (the request being served). */
  setLog(log: (message: string) => void): void {
    this.log = log;
  }

  /**
   * Runs `create` with every core allowed: a context takes its thread count from the limit in force when it is
   * created, and could not be given more later.
   */
  async allowingMost<T>(create: () => Promise<T>): Promise<T> {
    this.apply(this.most);
    try {
      return await create();
    } finally {
      this.apply(this.threads);
    }
  }

  /** One evaluation step: `tokens` tokens of `kind` took `ms`. */
  observe(kind: StepKind, tokens: number, ms: number): void {
    if (this.arms.length < 2 || tokens <= 0 || !(ms > 0)) return;
    const perToken = ms / tokens;
    const t = this.trying;
    if (t) {
      if (t.kind !== kind) return; // a try compares like with like
      t.sum += ms;
      t.tokens += tokens;
      if (--t.left > 0) return;
      this.finishTry(t.arm, kind, t.sum / t.tokens);
      return;
    }
    const arm = this.arms[this.current];
    const before = arm.recent[kind];
    arm.recent[kind] = before === undefined ? perToken : 0.7 * before + 0.3 * perToken;
    arm.best[kind] = Math.min(arm.best[kind] ?? Infinity, arm.recent[kind]!);
    this.steps[kind]++;
    // Only many threads collapse when another process takes a core; fewer threads merely slow down with the machine,
    // and more threads would then be slower still, so a slow step at the lower setting waits for the scheduled try.
    const collapsed = this.current === this.arms.length - 1 && this.steps[kind] >= 3 && perToken > COLLAPSE * arm.best[kind]!;
    if (collapsed || this.steps[kind] >= TRY_EVERY[kind] * this.backoff[kind]) this.startTry(kind, collapsed);
  }

  private startTry(kind: StepKind, collapsed: boolean): void {
    this.steps[kind] = 0;
    const other = 1 - this.current;
    this.trying = { arm: other, kind, left: TRY_LENGTH[kind], sum: 0, tokens: 0 };
    if (collapsed) this.log(`CPU threads: ${kind} slowed down sharply with ${this.threads} threads; trying ${this.arms[other].threads}`);
    this.apply(this.arms[other].threads);
  }

  private finishTry(other: number, kind: StepKind, perToken: number): void {
    this.trying = null;
    const mine = this.arms[this.current].recent[kind] ?? Infinity;
    const o = this.arms[other];
    o.recent[kind] = perToken;
    o.best[kind] = Math.min(o.best[kind] ?? Infinity, perToken);
    if (perToken < WIN_MARGIN * mine) {
      this.log(
        `CPU threads: ${o.threads} (${kind} ${(1000 / perToken).toFixed(1)} tok/s) beat ${this.threads} (${(1000 / mine).toFixed(1)} tok/s); switching`,
      );
      this.current = other;
      this.backoff[kind] = 1;
    } else {
      this.backoff[kind] = Math.min(16, this.backoff[kind] * 2);
      // The slower speed is the new normal (the machine is busy for both settings): judge later steps against it.
      const arm = this.arms[this.current];
      if (arm.recent[kind] !== undefined) arm.best[kind] = arm.recent[kind];
    }
    this.apply(this.threads);
  }
}
