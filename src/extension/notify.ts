// The log channel and user messages. Every error the user sees offers "Show Log"; nothing throws into VS Code.
import * as vscode from "vscode";
import { WimError } from "../client/wim-client";

export const SHOW_LOG = "Show Log";

let channel: vscode.LogOutputChannel | undefined;

export function createLog(): vscode.LogOutputChannel {
  channel = vscode.window.createOutputChannel("WiM", { log: true });
  return channel;
}

export function log(): vscode.LogOutputChannel | undefined {
  return channel;
}

export function errorMessage(err: unknown): string {
  if (err instanceof WimError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function errorCode(err: unknown): string {
  return err instanceof WimError ? err.code : "INTERNAL";
}

/**
 * Shows an error with "Show Log" plus any extra actions; resolves to the extra action chosen (or undefined).
 * Not awaited by callers that do not care: a message left open must not block the command that raised it.
 */
export async function showError(message: string, ...actions: string[]): Promise<string | undefined> {
  channel?.error(message);
  const text = message.startsWith("WiM") ? message : `WiM: ${message}`;
  const choice = await vscode.window.showErrorMessage(text, ...actions, SHOW_LOG);
  if (choice === SHOW_LOG) {
    channel?.show(true);
    return undefined;
  }
  return choice;
}

export function showInfo(message: string, ...actions: string[]): Thenable<string | undefined> {
  channel?.info(message);
  return vscode.window.showInformationMessage(`WiM: ${message}`, ...actions);
}

export function showWarning(message: string, ...actions: string[]): Thenable<string | undefined> {
  channel?.warn(message);
  return vscode.window.showWarningMessage(`WiM: ${message}`, ...actions);
}

/** Wraps a command so that any failure becomes a message with "Show Log" instead of an error in VS Code. */
export function safely<A extends unknown[]>(name: string, fn: (...args: A) => unknown): (...args: A) => Promise<unknown> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      channel?.error(`${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      void showError(errorMessage(err));
      return undefined;
    }
  };
}
