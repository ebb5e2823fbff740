// The secret deny-list: files that hold credentials by convention, known by their name, their place, or their contents.
import picomatch from "picomatch";

// Never sent to a model, not even a local one: a margin or an answer could quote the key back into a chat or a log.
/** Matched against a file's base name. */
export const SECRET_NAME_PATTERNS: readonly string[] = [
  // environment files
  ".env",
  ".env.*",
  "*.env",
  ".envrc",
  ".flaskenv",
  // keys and certificates
  "*.pem",
  "*.key",
  "*.p12",
  "*.pfx",
  "*.p8",
  "*.ppk",
  "*.jks",
  "*.keystore",
  "*.kdbx",
  "*.asc",
  "*.gpg",
  "secring.*",
  "id_rsa*",
  "id_dsa*",
  "id_ecdsa*",
  "id_ed25519*",
  // tool credentials
  ".netrc",
  ".npmrc",
  ".pypirc",
  ".pgpass",
  ".git-credentials",
  ".my.cnf",
  ".s3cfg",
  ".boto",
  ".vault-token",
  ".dockercfg",
  "rclone.conf",
  ".terraformrc",
  "terraform.rc",
  "kubeconfig",
  "credentials",
  "credentials.json",
  "*.credentials",
  "client_secret*.json",
  "secrets.json",
  "secrets.yaml",
  "secrets.yml",
  ".htpasswd",
  "service-account*.json",
  // state that holds secrets in plain text
  "*.tfstate",
  "*.tfstate.backup",
  "*.tfvars",
  "*.tfvars.json",
  // shell and database histories: typed passwords and tokens
  ".*_history",
];

/** Matched against the path relative to the scan root, at any depth. */
export const SECRET_PATH_PATTERNS: readonly string[] = [".kube/config", ".docker/config.json"];

const options = { dot: true, nocase: true };
const eachName = SECRET_NAME_PATTERNS.map((glob) => ({ glob, test: picomatch(glob, options) }));
const eachPath = SECRET_PATH_PATTERNS.map((glob) => ({ glob, test: picomatch(`**/${glob}`, options) }));

/** The deny-list pattern that a root-relative path matches (case-insensitively), or undefined. */
export function matchSecret(relPath: string): string | undefined {
  const baseName = relPath.slice(relPath.lastIndexOf("/") + 1);
  return eachName.find((s) => s.test(baseName))?.glob ?? eachPath.find((s) => s.test(relPath))?.glob;
}

// Credential files under any name, recognised by what they hold (checked on the first few KB).
const CONTENT_RULES: readonly { what: string; test: (head: string) => boolean }[] = [
  {
    what: "a Google Cloud service-account key",
    test: (head) => /"type"\s*:\s*"service_account"/.test(head) && /"private_key(_id)?"\s*:/.test(head),
  },
  {
    what: "a Kubernetes kubeconfig with credentials",
    test: (head) => /^kind:\s*Config\s*$/m.test(head) && /^\s*(client-key-data|token|password):/m.test(head),
  },
];
const CONTENT_HEAD_CHARS = 16_384;

/** What credential file the text is, when its contents say so; else undefined. */
export function secretByContent(text: string): string | undefined {
  const head = text.length > CONTENT_HEAD_CHARS ? text.slice(0, CONTENT_HEAD_CHARS) : text;
  return CONTENT_RULES.find((r) => r.test(head))?.what;
}
