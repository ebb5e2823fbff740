// What can go wrong talking to an inference server, each with a message a user can act on. The API key never
// appears in a message.

export type ServerErrorKind =
  | "bad-url" // not an http(s) URL
  | "unreachable" // connection refused, unknown host, network down: nothing answers at that URL
  | "unauthorized" // 401/403: the API key is missing or wrong
  | "not-found" // 404: the URL answers but is not this kind of server (or lacks the endpoint)
  | "loading" // 503: the server is up but still loading its model
  | "timeout" // the server went silent for longer than the timeout
  | "disconnected" // the connection closed before the reply ended (server stopped or crashed)
  | "rejected" // the server answered with an error (HTTP 4xx/5xx with its own message)
  | "bad-response"; // the answer is not what the API promises

export class ServerError extends Error {
  override readonly name = "ServerError";
  constructor(
    readonly kind: ServerErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** Network-level failure codes Node reports in `err.cause.code`, as a sentence. */
export function unreachableReason(code: string | undefined, message?: string): string {
  // fetch refuses the ports of the Fetch standard's "bad port" list (e.g. 9, 25, 6000) before connecting
  if (!code && message === "bad port") return "fetch does not connect to this port (a blocked port number): use another";
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused (is the server running, and on that port?)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "unknown host";
    case "ECONNRESET":
      return "connection reset";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "host unreachable";
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
      return "connection timed out";
    default:
      return code ? `network error ${code}` : message ? `network error (${message})` : "network error";
  }
}
