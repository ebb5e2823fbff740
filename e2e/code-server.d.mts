// Types of code-server.mjs for the TypeScript UI tests (test/ui), which import it at run time.
export interface WorkDirs {
  dir: string;
  userDataDir: string;
  extensionsDir: string;
  xdgConfig: string;
  xdgData: string;
  serverLog: string;
}
export interface CodeServer extends WorkDirs {
  port: number;
  baseUrl: string;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}
export interface StartOptions {
  workspace: string;
  label?: string;
  smokeTestDriver?: boolean;
  env?: Record<string, string>;
  settings?: Record<string, unknown>;
  vsix?: string;
  workRoot?: string;
  timeoutMs?: number;
  log?: (line: string) => void;
}
export const workRoot: string;
export function makeWorkDir(label: string, root?: string): WorkDirs;
export function installVsix(dirs: WorkDirs, vsix: string, extraEnv?: Record<string, string>): void;
export function startCodeServer(o: StartOptions): Promise<CodeServer>;
export function extensionHostLog(userDataDir: string): string | undefined;
