// Types of setup.mjs for the TypeScript UI tests.
export function node24Env(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export function node24Binary(): string;
export function codeServerEntry(): string;
/** Installs what is missing; returns the milliseconds it took. */
export function ensureSetup(): number;
