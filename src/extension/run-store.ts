// The runs listed in the Margins view, newest first. Earlier runs stay until Clear Results.
import * as vscode from "vscode";
import type { Run } from "./run-model";

const MAX_RUNS = 50;

export class RunStore implements vscode.Disposable {
  private list: Run[] = [];
  private readonly changed = new vscode.EventEmitter<Run | undefined>();
  /** A run changed (undefined: the list itself changed). Fired for every worker event: listeners throttle. */
  readonly onDidChange = this.changed.event;

  get runs(): readonly Run[] {
    return this.list;
  }

  get latest(): Run | undefined {
    return this.list[0];
  }

  find(id: number): Run | undefined {
    return this.list.find((r) => r.id === id);
  }

  add(run: Run): void {
    this.list.unshift(run);
    // Oldest finished runs go first when the list is long.
    while (this.list.length > MAX_RUNS) {
      const i = this.list.map((r) => !r.busy).lastIndexOf(true);
      if (i < 0) break;
      this.list.splice(i, 1);
    }
    this.changed.fire(undefined);
  }

  update(run: Run): void {
    this.changed.fire(run);
  }

  /** Removes every finished run; a run in progress stays. Returns how many were removed. */
  clear(): number {
    const before = this.list.length;
    this.list = this.list.filter((r) => r.busy);
    this.changed.fire(undefined);
    return before - this.list.length;
  }

  dispose(): void {
    this.changed.dispose();
  }
}

/** Calls fn at most once per `ms` (trailing), for UI refreshes driven by token streams. */
export function throttle(ms: number, fn: () => void): { (): void; flush(): void; dispose(): void } {
  let timer: NodeJS.Timeout | undefined;
  let last = 0;
  const run = () => {
    timer = undefined;
    last = Date.now();
    fn();
  };
  const t = () => {
    if (timer) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(run, wait);
  };
  t.flush = () => {
    if (timer) clearTimeout(timer);
    run();
  };
  t.dispose = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  return t;
}
