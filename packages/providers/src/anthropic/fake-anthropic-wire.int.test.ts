import { startFakeAnthropic, type FakeAnthropic } from "@switchyard/testkit";
import { request } from "undici";

/**
 * The fake's wire format checked against provider-wire-formats.md §2 with raw HTTP, so the
 * conformance suite's fake is itself known to speak Anthropic's format (not just our parser's).
 */
describe("fake Anthropic server wire format", () => {
  let fake: FakeAnthropic;
  beforeAll(async () => {
    fake = await startFakeAnthropic({ reply: "Hi there!" });
  });
  afterAll(() => fake.close());

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    request(`${fake.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": "k", "anthropic-version": "2023-06-01", "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  const base = { model: "claude-sonnet-4-5", max_tokens: 100, system: "Be nice.", messages: [{ role: "user", content: "Hello!" }] };

  it("streams message_start, content blocks, ping, message_delta and message_stop as event/data pairs", async () => {
    const res = await post({ ...base, stream: true });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(res.headers["request-id"]).toMatch(/^req_/);
    expect(res.headers["anthropic-ratelimit-requests-reset"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const events = (await res.body.text())
      .split("\n\n")
      .filter(Boolean)
      .map((e) => {
        const [ev, data, ...rest] = e.split("\n");
        expect(rest).toEqual([]);
        return { name: ev?.replace(/^event: /, ""), data: JSON.parse(data?.replace(/^data: /, "") ?? "") as Record<string, unknown> };
      });
    expect(events.map((e) => e.name)).toEqual([
      "message_start",
      "content_block_start",
      "ping",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    expect(events.every((e) => e.data.type === e.name)).toBe(true);
    expect(events[0]?.data.message).toMatchObject({
      type: "message",
      role: "assistant",
      content: [],
      model: "claude-sonnet-4-5",
      stop_reason: null,
      usage: { input_tokens: 4, output_tokens: 1 },
    });
    expect(events.slice(3, 5).map((e) => e.data)).toEqual([
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "Hi" } },
      { type: "content_block_delta", index: 0, delta: { type: "text_delta", text: " there!" } },
    ]);
    expect(events[6]?.data).toEqual({ type: "message_delta", delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 2 } });
  });

  it("answers non-streaming with a Message object", async () => {
    const res = await post(base);
    expect(await res.body.json()).toMatchObject({
      type: "message",
      role: "assistant",
      content: [{ type: "text", text: "Hi there!" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 4, output_tokens: 2, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    });
  });

  it("sends the error envelope with request_id matching the request-id header; streamed errors as event: error", async () => {
    fake.setMode({ kind: "error", status: 529 });
    const res = await post(base);
    expect(res.statusCode).toBe(529);
    const json = (await res.body.json()) as { request_id: string };
    expect(json).toEqual({ type: "error", error: { type: "overloaded_error", message: "Overloaded" }, request_id: res.headers["request-id"] });
    fake.setMode({ kind: "stream_error_after", chunks: 3 });
    const text = await (await post({ ...base, stream: true })).body.text();
    fake.setMode({ kind: "ok" });
    expect(text.trimEnd().split("\n\n").at(-1)).toBe('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}');
    expect(text).not.toContain("message_stop");
  });

  it.each([
    [
      {
        ...base,
        messages: [
          { role: "system", content: "x" },
          { role: "user", content: "y" },
        ],
      },
      {},
      /Unexpected role "system"/,
    ],
    [{ ...base, max_tokens: undefined }, {}, /max_tokens: Field required/],
    [{ ...base, temperature: 1.5 }, {}, /temperature/],
    [{ ...base, messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/bmp", data: "x" } }] }] }, {}, /media_type/],
    [base, { "anthropic-version": "" }, /anthropic-version/],
  ])("rejects what the API rejects with 400 invalid_request_error (%#)", async (body, headers, message) => {
    const h: Record<string, string> = { ...headers };
    const res = await (h["anthropic-version"] === ""
      ? request(`${fake.url}/v1/messages`, { method: "POST", headers: { "x-api-key": "k", "content-type": "application/json" }, body: JSON.stringify(body) })
      : post(body, h));
    expect(res.statusCode).toBe(400);
    const json = (await res.body.json()) as { error: { type: string; message: string } };
    expect(json.error.type).toBe("invalid_request_error");
    expect(json.error.message).toMatch(message);
  });
});
