import { runAdmin } from "./admin-io.test-helpers";

const entry = {
  id: "7",
  tenant_id: "ten_1",
  amount_usd: 25,
  kind: "grant",
  reason: "welcome",
  idempotency_key: "k",
  job_id: null,
  actor_key_id: "key_a",
  created_at: "2026-03-01T00:00:00.000Z",
};

describe("switchyard credits", () => {
  it("grant sends a random Idempotency-Key by default and prints it, so a failed run can be retried", async () => {
    const r = await runAdmin(["credits", "grant", "ten_1", "25", "--reason", "welcome"], () => ({ status: 201, body: { entry, balance_usd: 30.5 } }));
    expect(r.code).toBe(0);
    const key = r.requests[0]!.headers["idempotency-key"]!;
    expect(key).toMatch(/^cli-[0-9a-f-]{36}$/);
    expect(r.requests[0]).toMatchObject({
      method: "POST",
      url: "http://127.0.0.1:8080/admin/v1/tenants/ten_1/credits",
      body: { amount_usd: 25, reason: "welcome" },
    });
    expect(r.out).toBe(`granted $25.00 to ten_1 (entry 7, idempotency key ${key})\nbalance $30.50\n`);
    const again = await runAdmin(["credits", "grant", "ten_1", "25", "--reason", "welcome"], () => ({ status: 201, body: { entry, balance_usd: 1 } }));
    expect(again.requests[0]!.headers["idempotency-key"]).not.toBe(key);
  });

  it("a given key is sent as is; a replay says nothing was added; --json adds replayed and the key", async () => {
    const r = await runAdmin(["credits", "grant", "ten_1", "25", "--reason", "welcome", "--idempotency-key", "grant-42", "--json"], () => ({
      status: 200,
      body: { entry, balance_usd: 25 },
      headers: { "idempotent-replayed": "true" },
    }));
    expect(r.requests[0]!.headers["idempotency-key"]).toBe("grant-42");
    expect(JSON.parse(r.out)).toEqual({ entry, balance_usd: 25, replayed: true, idempotency_key: "grant-42" });
    const text = await runAdmin(["credits", "grant", "ten_1", "25", "--reason", "welcome", "--idempotency-key", "grant-42"], () => ({
      body: { entry, balance_usd: 25 },
      headers: { "idempotent-replayed": "true" },
    }));
    expect(text.out).toBe("already granted with idempotency key grant-42: nothing added\nbalance $25.00\n");
  });

  it("a negative amount goes after --", async () => {
    const r = await runAdmin(["credits", "grant", "ten_1", "--reason", "refund", "--", "-0.000123"], () => ({
      status: 201,
      body: { entry: { ...entry, amount_usd: -0.000123, kind: "adjustment" }, balance_usd: 24.999877 },
    }));
    expect(r.requests[0]!.body).toEqual({ amount_usd: -0.000123, reason: "refund" });
    expect(r.out).toContain("took back $0.000123 from ten_1");
  });

  it.each([
    [["credits", "grant", "ten_1", "lots", "--reason", "x"], '<amount-usd> must be a non-zero number of dollars such as 25 or 0.50, got "lots"'],
    [["credits", "grant", "ten_1", "0", "--reason", "x"], "<amount-usd> must be a non-zero number"],
    [["credits", "grant", "ten_1", "5"], "--reason is required"],
    [["credits", "grant", "ten_1", "-5", "--reason", "x"], "Unknown option '-5'"],
  ])("%j is exit 2: %s", async (args, message) => {
    const r = await runAdmin(args);
    expect(r).toMatchObject({ code: 2, requests: [] });
    expect(r.err).toContain(message);
  });

  it("balance prints the balance, what is reserved and the entries; recalculate prints the rebuilt sum", async () => {
    const b = await runAdmin(["credits", "balance", "ten_1"], () => ({
      body: {
        object: "credit_balance",
        tenant_id: "ten_1",
        balance_usd: 24.5,
        reserved_usd: 0.25,
        entries: [{ ...entry, id: "8", amount_usd: -0.5, kind: "debit", reason: "usage", job_id: "job_1" }, entry],
        next_cursor: null,
      },
    }));
    expect(b.out).toBe(
      [
        "tenant    ten_1",
        "balance   $24.50",
        "reserved  $0.25",
        "",
        "ENTRY  WHEN                      KIND   AMOUNT  REASON",
        "8      2026-03-01T00:00:00.000Z  debit  -$0.50  usage (job_1)",
        "7      2026-03-01T00:00:00.000Z  grant  $25.00  welcome",
        "",
      ].join("\n"),
    );
    const rc = await runAdmin(["credits", "recalculate", "ten_1"], () => ({ body: { tenant_id: "ten_1", balance_usd: 24.5, entries: 2 } }));
    expect(rc.requests[0]).toMatchObject({ method: "POST", url: "http://127.0.0.1:8080/admin/v1/tenants/ten_1/credits/recalculate", body: {} });
    expect(rc.out).toBe("ten_1: balance $24.50 from 2 ledger entries\n");
  });
});
