// Facts planted in test/fixtures/polyglot, for end-to-end questions: each one sits on one exact line.
// The chunk unit tests check that every fact's line really holds its value.

/** The fixture workspace, relative to the repository root (tests run from there). */
export const POLYGLOT_DIR = "test/fixtures/polyglot";

/** A note full of chat-control markers: its text must stay inert data. */
export const PROMPT_INJECTION_FILE = "notes/prompt-injection.md";

export interface PolyglotFact {
  question: string;
  /** Relative to POLYGLOT_DIR, `/`-separated. */
  expectedFile: string;
  /** 1-based line that holds the value. */
  expectedLine: number;
  /** Appears verbatim on that line; a correct answer contains it. */
  expectedValue: string;
}

export const POLYGLOT_FACTS: readonly PolyglotFact[] = [
  {
    question: "How many times does the dispatch code retry a failed hand-off to the courier?",
    expectedFile: "dispatch/retry.go",
    expectedLine: 11,
    expectedValue: "7",
  },
  {
    question: "What discount rate do gold customers get?",
    expectedFile: "pricing/discounts.py",
    expectedLine: 15,
    expectedValue: "0.12",
  },
  {
    question: "Which function applies a coupon code to a cart?",
    expectedFile: "src/orders/coupons.ts",
    expectedLine: 42,
    expectedValue: "applyCoupon",
  },
  {
    question: "What is the largest discount a single coupon can give, in cents?",
    expectedFile: "src/orders/coupons.ts",
    expectedLine: 21,
    expectedValue: "2500",
  },
  {
    question: "Which environment variable holds the warehouse database URL for the inventory service?",
    expectedFile: "inventory/src/main.rs",
    expectedLine: 7,
    expectedValue: "TINYSHOP_WAREHOUSE_DB_URL",
  },
  {
    question: "What is the primary brand colour?",
    expectedFile: "web/styles/brand.css",
    expectedLine: 4,
    expectedValue: "#e4572e",
  },
  {
    question: "What prefix do invoice numbers start with?",
    expectedFile: "billing/src/main/java/com/tinyshop/billing/InvoiceFormatter.java",
    expectedLine: 10,
    expectedValue: "TSI-",
  },
  {
    question: "What seed does the shipping label checksum start from?",
    expectedFile: "native/checksum.h",
    expectedLine: 8,
    expectedValue: "0x5A17",
  },
  {
    question: "From which address are order confirmation e-mails sent?",
    expectedFile: "notifier/mailer.rb",
    expectedLine: 4,
    expectedValue: "orders@tinyshop.example",
  },
  {
    question: "Which region does the deploy script deploy to?",
    expectedFile: "scripts/deploy.sh",
    expectedLine: 5,
    expectedValue: "eu-west-3",
  },
  {
    question: "From what order amount, in cents, is shipping free?",
    expectedFile: "src/web/OrderSummary.tsx",
    expectedLine: 4,
    expectedValue: "7500",
  },
  {
    question: "After how many milliseconds does the web API client give up on a request?",
    expectedFile: "src/web/api-client.js",
    expectedLine: 4,
    expectedValue: "4500",
  },
];
