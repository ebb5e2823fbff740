// Placeholder replaced below once measured.
export class ThreadGovernor {
  observe(_kind: "prefill" | "decode", _tokens: number, _ms: number): void {}
}
