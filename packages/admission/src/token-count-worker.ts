import { parentPort } from "node:worker_threads";
import { warmO200k } from "@switchyard/tokenizer";
import { countInputTokens, type CountedExtras, type CountedMessage } from "./token-count";

/**
 * A `TokenCountPool` thread: counts the input tokens of the messages it is sent, one request at a
 * time, off the gateway's event loop. The messages were validated by the gateway before they were
 * posted here (a thread of the same process), so they are taken as they come.
 */
export interface CountTask {
  id: number;
  messages: CountedMessage[];
  extras?: CountedExtras;
}
export type CountReply = { id: number; tokens: number } | { id: number; error: string };

const port = parentPort;
if (port) {
  warmO200k();
  port.on("message", (task: CountTask) => {
    let reply: CountReply;
    try {
      reply = { id: task.id, tokens: countInputTokens(task.messages, task.extras) };
    } catch (err) {
      reply = { id: task.id, error: err instanceof Error ? err.message : String(err) };
    }
    port.postMessage(reply);
  });
}
