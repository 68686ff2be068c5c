/** One request a {@link fakeFetch} saw. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  /** The parsed JSON body, or undefined when none was sent. */
  body: unknown;
}

/** What the fake answers: a status, a JSON body and headers. */
export interface FakeAnswer {
  status?: number;
  body?: unknown;
  /** A body that is not JSON (a proxy's error page); wins over `body`. */
  text?: string;
  headers?: Record<string, string>;
}

/**
 * A stand-in for the gateway in unit tests of the admin commands: records each request and
 * answers with `answer(request)` (default `200 {}`); `answer` may throw to act as a network error.
 * The real gateway is exercised by `admin-commands.int.test.ts`.
 */
export function fakeFetch(answer: (req: SeenRequest) => FakeAnswer = () => ({})): typeof fetch & { requests: SeenRequest[] } {
  const requests: SeenRequest[] = [];
  const fn = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const raw = typeof init?.body === "string" ? init.body : undefined;
    const req: SeenRequest = {
      method: init?.method ?? "GET",
      url: input instanceof Request ? input.url : input.toString(),
      headers,
      body: raw === undefined ? undefined : (JSON.parse(raw) as unknown),
    };
    requests.push(req);
    const a = answer(req);
    const text = a.text ?? (a.body === undefined ? "{}" : JSON.stringify(a.body));
    return new Response(text, { status: a.status ?? 200, headers: { "content-type": a.text === undefined ? "application/json" : "text/html", ...a.headers } });
  };
  return Object.assign(fn, { requests });
}
