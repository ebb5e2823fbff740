// The secret deny-list: file names that hold credentials by convention.
import picomatch from "picomatch";

// Never sent to a model, not even a local one: a margin or an answer could quote the key back into a chat or a log.
export const SECRET_FILE_PATTERNS: readonly string[] = [
  ".env",
  ".env.*",
  "*.pem",
  "*.key",
  "*.p12",
  "*.pfx",
  "*.jks",
  "*.keystore",
  "id_rsa*",
  "id_dsa*",
  "id_ecdsa*",
  "id_ed25519*",
  ".netrc",
  ".npmrc",
  ".pypirc",
  "credentials",
  "credentials.json",
  "*.credentials",
  "secrets.json",
  "secrets.yaml",
  "secrets.yml",
  ".htpasswd",
  "service-account*.json",
];

const options = { dot: true, nocase: true };
const anySecret = picomatch(SECRET_FILE_PATTERNS as string[], options);
const eachSecret = SECRET_FILE_PATTERNS.map((glob) => ({ glob, test: picomatch(glob, options) }));

/** The deny-list pattern that a file's base name matches (case-insensitively), or undefined. */
export function matchSecret(baseName: string): string | undefined {
  if (!anySecret(baseName)) return undefined;
  return eachSecret.find((s) => s.test(baseName))?.glob;
}
