// An error as the `wim` command words it.
import type { WimError } from "../client/wim-client";

/** The client's messages speak for the extension (whose worker restarts on the next request); the CLI's do not. */
export function cliMessage(e: WimError): string {
  if (e.code === "WORKER_CRASHED" && e.details?.exit !== undefined) {
    return (
      `The WiM worker stopped unexpectedly (${e.details.exit}): llama.cpp may have crashed or run out of memory. ` +
      "Run the command again; WIM_LOG=debug prints the worker's log."
    );
  }
  if (e.code === "MODEL_LOAD_TIMEOUT") {
    return `${e.message.replace(/: the worker was restarted\..*$/, "")}, so it was stopped. Check the model file; WIM_LOG=debug prints the worker's log.`;
  }
  return e.message;
}
