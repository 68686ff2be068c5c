import { runAdmin } from "./admin-io.test-helpers";

const dl = (over: Record<string, unknown> = {}) => ({
  object: "usage_dead_letter",
  id: "12",
  tenant_id: "ten_a",
  job_id: "job_1",
  attempt: 1,
  queue_job_id: "u-job_1-1",
  reason: "data_error",
  error: 'invalid byte sequence for encoding "UTF8": 0x00',
  sqlstate: "22021",
  failures: 1,
  created_at: "2026-11-20T10:00:00.000Z",
  replayed_at: null,
  event: { job_id: "job_1", requested_model: "auto\u0000" },
  ...over,
});

describe("switchyard dead-letters", () => {
  it("list prints one row per dead letter and how to get the next page", async () => {
    const r = await runAdmin(["dead-letters", "list", "--limit", "2"], () => ({
      body: {
        object: "list",
        data: [
          dl(),
          dl({
            id: "11",
            tenant_id: null,
            job_id: "queue:77",
            attempt: 0,
            reason: "invalid_payload",
            sqlstate: null,
            error: "invalid ai-usage payload for job 77: attempt: Expected number, received string; and a great deal more",
            replayed_at: "2026-11-21T00:00:00.000Z",
          }),
        ],
        has_more: true,
        next_cursor: "11",
      },
    }));
    expect(r.requests[0]).toMatchObject({ method: "GET", url: "http://127.0.0.1:8080/admin/v1/usage-dead-letters?limit=2" });
    expect(r.out).toBe(
      [
        "ID  CREATED                   TENANT  JOB       ATTEMPT  REASON           SQLSTATE  REPLAYED                  ERROR",
        '12  2026-11-20T10:00:00.000Z  ten_a   job_1     1        data_error       22021     no                        invalid byte sequence for encoding "UTF8": 0x00',
        "11  2026-11-20T10:00:00.000Z  -       queue:77  0        invalid_payload  -         2026-11-21T00:00:00.000Z  invalid ai-usage payload for job 77: attempt: Expected numb…",
        "more: switchyard dead-letters list --cursor 11",
        "",
      ].join("\n"),
    );
  });

  it("list --open asks for those not yet replayed; --json prints the API's answer, events included", async () => {
    const body = { object: "list", data: [dl()], has_more: false, next_cursor: null };
    const r = await runAdmin(["dead-letters", "list", "--open", "--cursor", "40", "--json"], () => ({ body }));
    expect(r.requests[0]!.url).toBe("http://127.0.0.1:8080/admin/v1/usage-dead-letters?cursor=40&replayed=false");
    expect(JSON.parse(r.out)).toEqual(body);
    const none = await runAdmin(["dead-letters", "list", "--open"], () => ({ body: { object: "list", data: [], has_more: false, next_cursor: null } }));
    expect(none.out).toBe("no usage dead letters waiting for a replay\n");
  });

  it("replay posts sanitize and says what was enqueued", async () => {
    const answer = {
      object: "usage_dead_letter_replay",
      dead_letter: dl({ replayed_at: "2026-11-21T00:00:00.000Z" }),
      queue_job_id: "u-dl-12-1",
      sanitized: true,
    };
    const r = await runAdmin(["dead-letters", "replay", "12", "--sanitize"], () => ({ body: answer }));
    expect(r.requests[0]).toMatchObject({ method: "POST", url: "http://127.0.0.1:8080/admin/v1/usage-dead-letters/12/replay", body: { sanitize: true } });
    expect(r.out).toBe("replayed dead letter 12 (job job_1, attempt 1) as ai-usage job u-dl-12-1, NULs removed\n");
    const plain = await runAdmin(["dead-letters", "replay", "12", "--json"], () => ({ body: { ...answer, sanitized: false } }));
    expect(plain.requests[0]!.body).toEqual({ sanitize: false });
    expect(JSON.parse(plain.out)).toMatchObject({ queue_job_id: "u-dl-12-1", sanitized: false });
  });

  it("the API's 409 and 404 come through with their codes, exit 1", async () => {
    const again = await runAdmin(["dead-letters", "replay", "12"], () => ({
      status: 409,
      body: {
        error: { type: "conflict_error", code: "dead_letter_replayed", message: "usage dead letter 12 was already replayed at 2026-11-21T00:00:00.000Z" },
      },
    }));
    expect(again).toMatchObject({
      code: 1,
      err: "switchyard: usage dead letter 12 was already replayed at 2026-11-21T00:00:00.000Z (409 dead_letter_replayed)\n",
    });
    const missing = await runAdmin(["dead-letters", "replay", "99"], () => ({
      status: 404,
      body: { error: { type: "not_found_error", code: "dead_letter_not_found", message: "no usage dead letter 99" } },
    }));
    expect(missing).toMatchObject({ code: 1, err: "switchyard: no usage dead letter 99 (404 dead_letter_not_found)\n" });
  });

  it.each([
    [["dead-letters", "replay"], "missing <id>"],
    [["dead-letters", "list", "--limit", "0"], "--limit must be a whole number ≥ 1"],
    [["dead-letters", "list", "--limit", "500"], "--limit must be at most 200"],
    [["dead-letters", "list", "--cursor", ""], "--cursor must not be empty"],
  ])("%j is exit 2: %s", async (args, message) => {
    const r = await runAdmin(args);
    expect(r).toMatchObject({ code: 2, requests: [] });
    expect(r.err).toContain(message);
  });
});
