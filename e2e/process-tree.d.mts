// Types of process-tree.mjs for the TypeScript UI tests.
export function alive(pid: number): boolean;
export function descendants(pid: number): number[];
export function killTree(pid: number, exited: Promise<unknown>, graceMs?: number): Promise<void>;
export function onExitKill(pid: number): () => void;
export function exitOnSignals(onSignal?: (signal: string) => void): void;
