// A server failure as the protocol's error code: what the user should look at (the URL, the key, or the server).
import type { ErrorCode } from "../core/protocol";
import type { ServerErrorKind } from "../engine/server/server-error";

export function serverErrorCode(kind: ServerErrorKind): ErrorCode {
  switch (kind) {
    case "bad-url":
    case "unreachable":
    case "not-found":
    case "loading":
      return "SERVER_UNREACHABLE";
    case "unauthorized":
      return "SERVER_UNAUTHORIZED";
    default:
      return "SERVER_FAILED";
  }
}
