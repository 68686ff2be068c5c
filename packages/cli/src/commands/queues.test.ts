import { runAdmin } from "./admin-io.test-helpers";

const counts = (c: Partial<Record<string, number>>) => ({
  waiting: 0,
  prioritized: 0,
  delayed: 0,
  waiting_children: 0,
  active: 0,
  completed: 0,
  failed: 0,
  ...c,
});

describe("switchyard queues", () => {
  it("counts prints one row per queue, states in the order ops read them", async () => {
    const r = await runAdmin(["queues", "counts"], () => ({
      body: {
        object: "list",
        data: [
          { queue: "ai-route", paused: false, counts: counts({ waiting: 3, active: 2, failed: 1 }) },
          { queue: "ai-usage", paused: true, counts: counts({ delayed: 4 }) },
        ],
      },
    }));
    expect(r.out).toBe(
      [
        "QUEUE     WAITING  PRIORITIZED  WAITING_CHILDREN  DELAYED  ACTIVE  COMPLETED  FAILED  PAUSED",
        "ai-route  3        0            0                 0        2       0          1       no",
        "ai-usage  0        0            0                 4        0       0          0       yes",
        "",
      ].join("\n"),
    );
  });

  it("clean sends older_than_ms and limit when given, and says what was removed and skipped", async () => {
    const c = await runAdmin(["queues", "clean", "ai-route", "--older-than-ms", "60000", "--limit", "50"], () => ({
      body: {
        object: "queue_clean",
        queue: "ai-route",
        older_than_ms: 60000,
        examined: 7,
        removed: 2,
        removed_job_ids: ["a", "b"],
        skipped: { too_recent: 4, no_switchyard_job: 0, unknown_job: 0, not_terminal: 1, locked: 0 },
      },
    }));
    expect(c.requests[0]).toMatchObject({
      method: "POST",
      url: "http://127.0.0.1:8080/admin/v1/queues/ai-route/clean-stuck",
      body: { older_than_ms: 60000, limit: 50 },
    });
    expect(c.out).toBe("ai-route: removed 2 of 7 jobs examined (older than 60000 ms); skipped: too_recent 4, not_terminal 1\n");
    const dflt = await runAdmin(["queues", "clean", "ai-route"], () => ({
      body: { queue: "ai-route", older_than_ms: 600000, examined: 0, removed: 0, skipped: {} },
    }));
    expect(dflt.requests[0]!.body).toEqual({});
    expect(dflt.out).toBe("ai-route: removed 0 of 0 jobs examined (older than 600000 ms)\n");
  });

  it("retry-failed prints how many moved and the counts after", async () => {
    const rf = await runAdmin(["queues", "retry-failed", "ai-route"], () => ({
      body: { object: "queue_retry", queue: "ai-route", retried: 1, counts: counts({ waiting: 1 }) },
    }));
    expect(rf.requests[0]).toMatchObject({ url: "http://127.0.0.1:8080/admin/v1/queues/ai-route/retry-failed", body: {} });
    expect(rf.out).toBe("ai-route: retried 1 failed job; now waiting 1\n");
  });

  it.each([
    [["queues", "clean", "ai-route", "--older-than-ms=-5"], '--older-than-ms must be a whole number ≥ 0, got "-5"'],
    [["queues", "clean", "ai-route", "--limit", "0"], "--limit must be a whole number ≥ 1"],
    [["queues", "clean"], "missing <queue>"],
  ])("%j is exit 2: %s", async (args, message) => {
    const r = await runAdmin(args);
    expect(r).toMatchObject({ code: 2, requests: [] });
    expect(r.err).toContain(message);
  });

  it("an unknown queue is the API's 404, exit 1; a non-JSON 404 (a proxy) names the path tried", async () => {
    const r = await runAdmin(["queues", "retry-failed", "ai-nope"], () => ({
      status: 404,
      body: { error: { type: "not_found_error", code: "not_found", message: "no queue ai-nope; queues are ai-route, ai-rag" } },
    }));
    expect(r).toMatchObject({ code: 1, err: "switchyard: no queue ai-nope; queues are ai-route, ai-rag (404 not_found)\n" });
    const proxy = await runAdmin(["queues", "retry-failed", "ai-route"], () => ({ status: 404, text: "<html>Not Found</html>" }));
    expect(proxy).toMatchObject({
      code: 1,
      err: "switchyard: <html>Not Found</html> (404; does this gateway have POST /admin/v1/queues/ai-route/retry-failed?)\n",
    });
  });
});
