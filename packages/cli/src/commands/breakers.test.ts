import { runAdmin } from "./admin-io.test-helpers";

describe("switchyard breakers", () => {
  it("status prints a table of every model's breaker", async () => {
    const r = await runAdmin(["breakers", "status"], () => ({
      body: {
        object: "list",
        data: [
          { model: "sim-fast", provider: "simulated", tier: "flash", state: "closed", opened_at: null, open_until: null, failures: 0, successes: 3 },
          {
            model: "gpt-test",
            provider: "openai",
            tier: "flash",
            state: "open",
            opened_at: "2026-03-01T00:00:00.000Z",
            open_until: "2026-03-01T00:01:00.000Z",
            failures: 5,
            successes: 0,
          },
        ],
      },
    }));
    expect(r.out).toBe(
      [
        "MODEL     PROVIDER   TIER   STATE   FAILURES  SUCCESSES  OPEN UNTIL",
        "sim-fast  simulated  flash  closed  0         3          -",
        "gpt-test  openai     flash  open    5         0          2026-03-01T00:01:00.000Z",
        "",
      ].join("\n"),
    );
  });

  it("force-open sends the duration; reset needs nothing", async () => {
    const f = await runAdmin(["breakers", "force-open", "sim-fast", "--duration-ms", "60000"], () => ({
      body: { model: "sim-fast", state: "open", open_until: "2026-03-01T00:01:00.000Z" },
    }));
    expect(f.requests[0]).toMatchObject({
      method: "POST",
      url: "http://127.0.0.1:8080/admin/v1/circuit-breakers/sim-fast/force-open",
      body: { duration_ms: 60000 },
    });
    expect(f.out).toBe("sim-fast: breaker open until 2026-03-01T00:01:00.000Z\n");
    const r = await runAdmin(["breakers", "reset", "sim-fast"], () => ({ body: { model: "sim-fast", state: "closed" } }));
    expect(r.out).toBe("sim-fast: breaker reset, now closed\n");
  });

  it.each([
    [["breakers", "force-open", "sim-fast"], "--duration-ms is required"],
    [["breakers", "force-open", "sim-fast", "--duration-ms", "1.5"], '--duration-ms must be a whole number ≥ 1, got "1.5"'],
    [["breakers", "force-open", "sim-fast", "--duration-ms", "0"], "--duration-ms must be a whole number ≥ 1"],
    [["breakers", "status", "extra"], 'unexpected argument "extra"'],
  ])("%j is exit 2: %s", async (args, message) => {
    const r = await runAdmin(args);
    expect(r).toMatchObject({ code: 2, requests: [] });
    expect(r.err).toContain(message);
  });
});
