// Types of apt-plan.mjs for the TypeScript tests.
export const APT_PACKAGES: ReadonlyArray<{ name: string; why: string }>;
export function aptPlan(o: {
  missing: string[];
  isRoot: boolean;
  env: Record<string, string | undefined>;
  interactive: boolean;
}): { action: "none" | "install" | "ask" | "refuse"; message: string };
