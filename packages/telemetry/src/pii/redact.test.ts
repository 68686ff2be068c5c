import { luhnValid } from "./pii-checks";
import { PII_PLACEHOLDERS, redactLogObject, redactLogValue, redactPII, type PiiKind } from "./redact";

/** Seeded positives: each string must be found whole, as its kind, inside a sentence. */
const POSITIVES: Array<[PiiKind, string]> = [
  ["email", "jane.doe@example.com"],
  ["email", "j_smith+billing@mail.co.uk"],
  ["email", "ops-team@sub.domain.io"],
  ["email", "X.Y@EXAMPLE.ORG"],
  ["phone", "+1 415 555 2671"],
  ["phone", "+14155552671"],
  ["phone", "+44 20 7946 0958"],
  ["phone", "+44 (0)20 7946 0958"],
  ["phone", "+49 30 12345678"],
  ["phone", "+33 1 23 45 67 89"],
  ["phone", "(415) 555-2671"],
  ["phone", "415-555-2671"],
  ["phone", "415.555.2671"],
  ["phone", "1-800-555-0199"],
  ["phone", "020 7946 0958"],
  ["phone", "01.23.45.67.89"],
  ["phone", "030-1234-5678"],
  ["credit_card", "4111111111111111"],
  ["credit_card", "4111 1111 1111 1111"],
  ["credit_card", "5500-0000-0000-0004"],
  ["credit_card", "5555555555554444"],
  ["credit_card", "2223003122003222"],
  ["credit_card", "378282246310005"],
  ["credit_card", "3782 822463 10005"],
  ["credit_card", "6011111111111117"],
  ["credit_card", "3566 0020 2036 0505"],
  ["credit_card", "30569309025904"],
  ["credit_card", "4222222222222"],
  ["credit_card", "6011 0009 9013 9424"],
  ["ssn", "123-45-6789"],
  ["ssn", "078-05-1120"],
  ["ssn", "219 09 9999"],
  ["ssn", "899-99-0001"],
  ["iban", "DE89 3704 0044 0532 0130 00"],
  ["iban", "DE89370400440532013000"],
  ["iban", "GB82 WEST 1234 5698 7654 32"],
  ["iban", "FR14 2004 1010 0505 0001 3M02 606"],
  ["iban", "NL91ABNA0417164300"],
  ["iban", "CH93 0076 2011 6238 5295 7"],
  ["iban", "NO9386011117947"],
  ["ip", "192.168.1.20"],
  ["ip", "10.0.0.1"],
  ["ip", "8.8.8.8"],
  ["ip", "1.2.3.4"],
  ["ip", "255.255.255.255"],
  ["ip", "2001:0db8:85a3:0000:0000:8a2e:0370:7334"],
  ["ip", "2001:db8::8a2e:370:7334"],
  ["ip", "fe80::1"],
  ["ip", "::1"],
  ["ip", "::ffff:192.0.2.128"],
];

const CONTEXTS = [
  (s: string) => s,
  (s: string) => `Contact: ${s}.`,
  (s: string) => `(${s}) is on file, see ${s}, twice`,
  (s: string) => `prefix ${s}\nnext line`,
];

/** Hard negatives: nothing in these strings may be redacted. */
const NEGATIVES: string[] = [
  "Order 4111111111111112 shipped", // 16 digits failing Luhn
  "order #4111 1111 1111 1112 was refunded",
  "Invoice 5500-0000-0000-0005 is due",
  "reference 1234567890123 (13 digits, Luhn fails)",
  "tracking 9400111899223344556677", // 22 digits
  "order number 7992739871 placed", // passes Luhn but 10 digits and no card prefix
  "version 1.2.3 released",
  "upgrade to v2.10.4-beta.1 today",
  "node v20.11.1 and python 3.12.2",
  "v1.2.3.4 is a version with a v",
  "kernel 6.8.0-31-generic",
  "request id 123e4567-e89b-12d3-a456-426614174000",
  "uuid 00000000-0000-4000-8000-000000000000 and 98765432-1098-7654-3210-987654321098",
  "released on 2024-01-15 at 10:30:00",
  "timestamp 2024-01-15T10:30:00Z and 2024-01-15T10:30:00.123+02:00",
  "due 01/15/2024 or 15.01.2024 or 2024/01/15",
  "ISBN 978-0-306-40615-7 and 9780306406157",
  "ISBN-10: 0-306-40615-2",
  "the meeting is at 12:30:45 today",
  "MAC 00:1A:2B:3C:4D:5E",
  "std::vector<int> and Foo::bar",
  "SSN-like 000-12-3456 and 666-12-3456 and 900-12-3456",
  "SSN-like 123-00-4567 and 123-45-0000",
  "IBAN-like DE89 3704 0044 0532 0130 01 (bad check)",
  "XX89370400440532013000 unknown country",
  "not an address 256.1.1.1 or 1.2.3.999",
  "price $1,234,567.89 for 3 units",
  "call count 42 and 1234567890 widgets", // bare digits without a phone cue
  "coordinates 51.5074, -0.1278",
  "sha 9f86d081884c7d659a2f0ea0b6c6f5c1",
  "ratio 3.14159265358979",
];

describe("redactPII", () => {
  it.each(POSITIVES)("catches %s %s in every context", (kind, value) => {
    for (const ctx of CONTEXTS) {
      const input = ctx(value);
      const r = redactPII(input);
      const hits = r.found.filter((f) => input.slice(f.start, f.end) === value);
      expect({ input, kinds: r.found.map((f) => `${f.kind}:${input.slice(f.start, f.end)}`) }).toEqual({ input, kinds: hits.map(() => `${kind}:${value}`) });
      expect(hits.length).toBe(input.split(value).length - 1);
      expect(r.text).not.toContain(value);
      expect(r.text).toContain(PII_PLACEHOLDERS[kind]);
    }
  });

  it.each(NEGATIVES)("leaves alone: %s", (input) => {
    const r = redactPII(input);
    expect(r.found.map((f) => `${f.kind}:${input.slice(f.start, f.end)}`)).toEqual([]);
    expect(r.text).toBe(input);
  });

  it("has a positive for every kind", () => {
    expect(new Set(POSITIVES.map(([k]) => k))).toEqual(new Set(Object.keys(PII_PLACEHOLDERS)));
  });

  it("the Luhn negatives really fail Luhn and the card positives pass it", () => {
    expect(luhnValid("4111111111111112")).toBe(false);
    expect(luhnValid("5500000000000005")).toBe(false);
    expect(luhnValid("1234567890123")).toBe(false);
    for (const [k, v] of POSITIVES) if (k === "credit_card") expect(luhnValid(v.replace(/\D/g, ""))).toBe(true);
  });

  it("reports positions in the input and rebuilds the rest exactly", () => {
    const input = "Mail a@b.io or call +1 415 555 2671 from 10.1.2.3; card 4111 1111 1111 1111 2024.";
    const r = redactPII(input);
    expect(r.text).toBe("Mail [EMAIL] or call [PHONE] from [IP]; card [CREDIT_CARD] 2024.");
    expect(r.found.map((f) => f.kind)).toEqual(["email", "phone", "ip", "credit_card"]);
    expect(input.slice(r.found[3]!.start, r.found[3]!.end)).toBe("4111 1111 1111 1111");
  });

  it("mixes positives and negatives in one text", () => {
    const input = "v1.2.3 on 2024-01-15: user 123e4567-e89b-12d3-a456-426614174000 (ssn 123-45-6789, ip 1.2.3.4) ordered 4111111111111112";
    expect(redactPII(input).text).toBe("v1.2.3 on 2024-01-15: user 123e4567-e89b-12d3-a456-426614174000 (ssn [SSN], ip [IP]) ordered 4111111111111112");
  });

  it("stays fast on long adversarial input", () => {
    const input = `${"1.".repeat(20_000)} ${"a@".repeat(20_000)} ${"1-".repeat(20_000)} ${":".repeat(20_000)}`;
    const t0 = performance.now();
    redactPII(input);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe("redactLogValue", () => {
  it("redacts every string of a nested value, keys included, and keeps the shape", () => {
    const err = new Error("failed for jane@example.com");
    const cyclic: Record<string, unknown> = { note: "from 10.0.0.1" };
    cyclic.self = cyclic;
    const out = redactLogValue({ user: { email: "jane@example.com", n: 3, ok: true, tags: ["+44 20 7946 0958", null] }, "a@b.io": 1, err, cyclic }) as Record<
      string,
      unknown
    >;
    expect(out).toMatchObject({
      user: { email: "[EMAIL]", n: 3, ok: true, tags: ["[PHONE]", null] },
      "[EMAIL]": 1,
      cyclic: { note: "from [IP]", self: "[Circular]" },
    });
    expect(out.err).toMatchObject({ type: "Error", message: "failed for [EMAIL]" });
    expect(JSON.stringify(out)).not.toMatch(/jane@|10\.0\.0\.1|7946/);
  });

  it("redactLogObject is the same walk for pino's formatters.log", () => {
    expect(redactLogObject({ q: "ssn 123-45-6789" })).toEqual({ q: "ssn [SSN]" });
    expect(redactLogValue("plain")).toBe("plain");
    expect(redactLogValue(42)).toBe(42);
  });
});
