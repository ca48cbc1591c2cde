/**
 * A load process. The orchestrator (bench/run.ts) forks four of these and drives them over IPC;
 * they talk to the servers over 127.0.0.1 only. Every latency is measured here, by the clients:
 * send and receive time on the same system-wide monotonic clock (lib/common.ts `now()`). What a
 * process can be asked to do is the scenarios' agent halves (scenarios/index.ts).
 */
import type { AgentReply, AgentRequest } from "../lib/orchestrator.ts";
import { agentHandlers } from "../scenarios/index.ts";

const handlers: Record<string, (args: never) => unknown> = agentHandlers;

process.on("message", async (msg: AgentRequest) => {
  let reply: AgentReply;
  try {
    const handler = handlers[msg.cmd];
    if (!handler) throw new Error(`unknown command ${msg.cmd}`);
    reply = { id: msg.id, ok: true, result: await handler(msg.args as never) };
  } catch (err) {
    reply = { id: msg.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  process.send?.(reply);
});

// The orchestrator went away (finished, crashed or interrupted): go too.
process.on("disconnect", () => process.exit(0));
