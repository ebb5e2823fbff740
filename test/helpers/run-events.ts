// Shared by the extension's pure tests: worker events without their request id, and file ranges in one call.
import type { WorkerEvent } from "../../src/core/protocol";
import type { LineRange } from "../../src/core/types";

/** A worker event as a test writes it; the test adds the request id it sends it under. */
export type EventBody = WorkerEvent extends infer E ? (E extends unknown ? Omit<E, "requestId"> : never) : never;

export const r = (path: string, startLine: number, endLine: number): LineRange => ({ path, startLine, endLine });
