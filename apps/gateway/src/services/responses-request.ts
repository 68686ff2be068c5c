import {
  ApiError,
  CreateJobRequest,
  newId,
  parseInputItems,
  parseResponsesTools,
  unsupportedResponsesParameter,
  type AgentChatMessage,
  type ContentPart,
  type ResponseItem,
  type ResponsesCreateRequest,
  type StoredResponseParams,
  type ToolCall,
} from "@switchyard/contracts";

const ITEM_PREFIX: Record<ResponseItem["type"], string> = { message: "msg", function_call: "fc", function_call_output: "fco" };

/** What a Responses request becomes: the parameters to echo, its own input items, and the job request (without the earlier turns yet). */
export interface MappedRequest {
  params: StoredResponseParams;
  ownItems: ResponseItem[];
  toJob(prior: ResponseItem[]): CreateJobRequest;
}

/**
 * Map `POST /v1/responses` onto a Switchyard job. Refuses, with a 400 naming the field, what the
 * job pipeline cannot honour; everything accepted is either carried into the job or echoed
 * (`safety_identifier`, `prompt_cache_key`: hints without effect here).
 */
export function mapResponsesRequest(body: ResponsesCreateRequest): MappedRequest {
  const unsupported = unsupportedResponsesParameter(body);
  if (unsupported)
    throw new ApiError(
      "unsupported_parameter",
      unsupported.message.startsWith(unsupported.param) ? unsupported.message : `${unsupported.param}: ${unsupported.message}`,
      unsupported.param,
    );
  const tools = parseResponsesTools(body.tools ?? []);
  if (!Array.isArray(tools)) throw new ApiError("invalid_request", tools.message, tools.param);
  const choice = body.tool_choice ?? "auto";
  if (typeof choice === "object" && !(choice.type === "function" && typeof choice.name === "string")) {
    throw new ApiError("unsupported_parameter", `tool_choice: only none, auto, required or a function ({type: "function", name}) are supported`, "tool_choice");
  }
  if (typeof choice === "object" && !tools.some((t) => t.name === choice.name))
    throw new ApiError("invalid_request", `tool_choice.name: ${String(choice.name)} is not one of the declared tools`, "tool_choice.name");
  if (tools.length === 0 && (choice === "required" || typeof choice === "object"))
    throw new ApiError("invalid_request", "tool_choice: needs tools", "tool_choice");
  const ownItems = body.input === undefined ? [] : parseInputItems(body.input, (_i, type) => newId(ITEM_PREFIX[type]));
  if (!Array.isArray(ownItems)) throw new ApiError("invalid_request", ownItems.message, ownItems.param);
  const format = body.text?.format ?? { type: "text" as const };
  const params: StoredResponseParams = {
    model: body.model ?? "auto",
    instructions: body.instructions ?? null,
    tools,
    tool_choice: choice as StoredResponseParams["tool_choice"],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    max_output_tokens: body.max_output_tokens ?? null,
    temperature: body.temperature ?? null,
    top_p: body.top_p ?? null,
    text: { format },
    metadata: body.metadata ?? {},
    user: body.user ?? null,
    safety_identifier: body.safety_identifier ?? null,
    prompt_cache_key: body.prompt_cache_key ?? null,
    service_tier: body.service_tier ?? "auto",
  };
  const toJob = (prior: ResponseItem[]): CreateJobRequest => {
    const messages = toMessages(prior, ownItems);
    const job = {
      model: params.model,
      messages: [...(params.instructions ? [{ role: "system" as const, content: params.instructions }] : []), ...messages],
      max_tokens: params.max_output_tokens ?? undefined,
      temperature: params.temperature ?? undefined,
      metadata: Object.keys(params.metadata).length ? params.metadata : undefined,
      user: params.user ?? undefined,
      priority: "normal" as const,
      ...(tools.length
        ? {
            tools: tools.map((t) => ({
              type: "function" as const,
              function: {
                name: t.name,
                ...(t.description ? { description: t.description } : {}),
                ...(t.parameters ? { parameters: t.parameters } : {}),
                ...(t.strict !== undefined ? { strict: t.strict } : {}),
              },
            })),
            tool_choice: typeof choice === "object" ? { type: "function" as const, function: { name: String(choice.name) } } : choice,
            ...(body.parallel_tool_calls === false ? { parallel_tool_calls: false } : {}),
          }
        : {}),
      ...(format.type === "json_object" ? { response_format: { type: "json_object" as const } } : {}),
      ...(format.type === "json_schema"
        ? {
            response_format: {
              type: "json_schema" as const,
              json_schema: {
                name: format.name,
                schema: format.schema,
                ...(format.description ? { description: format.description } : {}),
                ...(format.strict !== undefined ? { strict: format.strict } : {}),
              },
            },
          }
        : {}),
    };
    const parsed = CreateJobRequest.safeParse(job);
    if (!parsed.success) throw jobProblem(parsed.error.issues[0]!, prior.length);
    return parsed.data;
  };
  return { params, ownItems, toJob };
}

/** A job-side validation problem, named by the Responses field it came from. */
function jobProblem(issue: { path: PropertyKey[]; message: string }, _prior: number): ApiError {
  const [head, ...rest] = issue.path.map(String);
  const field = head === "messages" ? "input" : head === "max_tokens" ? "max_output_tokens" : head === "response_format" ? "text.format" : (head ?? "body");
  const path = head === "messages" ? "input" : [field, ...rest].join(".");
  return new ApiError("invalid_request", `${path}: ${issue.message}`, path);
}

/**
 * Conversation items as chat turns: messages keep their role (content parts mapped), function
 * calls join the assistant turn before them as `tool_calls`, outputs become `tool` messages. A
 * function_call_output must answer a call made earlier (the problem names its `call_id`).
 */
function toMessages(prior: ResponseItem[], own: ResponseItem[]): AgentChatMessage[] {
  const out: AgentChatMessage[] = [];
  const calls = new Set<string>();
  const all = [...prior.map((item) => ({ item, at: null as number | null })), ...own.map((item, i) => ({ item, at: i }))];
  for (const { item, at } of all) {
    if (item.type === "message") {
      if (item.role === "assistant") {
        const text = item.content.map((p) => (p.type === "output_text" ? p.text : p.type === "refusal" ? p.refusal : "")).join("");
        if (text) out.push({ role: "assistant", content: text });
        continue;
      }
      const parts: ContentPart[] = item.content.flatMap((p): ContentPart[] =>
        p.type === "input_text"
          ? [{ type: "text", text: p.text }]
          : p.type === "input_image" && p.image_url
            ? [
                {
                  type: "image_url",
                  image_url: { url: p.image_url, ...(p.detail === "low" || p.detail === "high" || p.detail === "auto" ? { detail: p.detail } : {}) },
                },
              ]
            : [],
      );
      const content = parts.every((p) => p.type === "text") ? parts.map((p) => (p.type === "text" ? p.text : "")).join("\n") : parts;
      out.push({ role: item.role, content });
    } else if (item.type === "function_call") {
      calls.add(item.call_id);
      const call: ToolCall = { id: item.call_id, type: "function", function: { name: item.name, arguments: item.arguments } };
      const last = out.at(-1);
      if (last?.role === "assistant") last.tool_calls = [...(last.tool_calls ?? []), call];
      else out.push({ role: "assistant", content: null, tool_calls: [call] });
    } else {
      if (!calls.has(item.call_id)) {
        const param = at === null ? "previous_response_id" : `input.${at}.call_id`;
        throw new ApiError("invalid_request", `${param}: no function_call with call_id ${item.call_id} comes before this function_call_output`, param);
      }
      out.push({ role: "tool", tool_call_id: item.call_id, content: item.output });
    }
  }
  return out;
}
