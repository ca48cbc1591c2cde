/**
 * The bench's scenarios, one module each, in the order a run takes them. Each module exports its
 * orchestrator half (`orchestrate(ctx)`, run by bench/run.ts) and its agent half (`agent`: the
 * commands it needs a load process to run, dispatched by bench/load/agent.ts).
 */
import type { BenchContext } from "../lib/orchestrator.ts";
import { clientHandlers } from "../load/client.ts";
import { screenHandlers } from "../load/screens.ts";
import * as bulk from "./bulk.ts";
import * as costs from "./costs.ts";
import * as fanout from "./fanout.ts";
import * as floor from "./floor.ts";
import * as ops from "./ops.ts";
import * as polling from "./polling.ts";
import * as relay from "./relay.ts";
import * as resume from "./resume.ts";
import * as rush from "./rush.ts";
import * as webhook from "./webhook.ts";

// costs first: nothing another scenario deferred (relays to order rooms nobody watches) lands in it.
export const SCENARIOS = { costs, floor, fanout, relay, webhook, bulk, resume, polling, rush, ops } satisfies Record<
  string,
  { orchestrate: (ctx: BenchContext) => Promise<void>; agent: object }
>;
export type ScenarioName = keyof typeof SCENARIOS;

/** Run unless `--only` names others; `ops` (CPU per operation, a profiling aid) only when named. */
export const byDefault = (name: ScenarioName): boolean => name !== "ops";

/** What a load process can be asked to do: the shared roles, then every scenario's agent half. */
export const agentHandlers = {
  ...clientHandlers,
  ...screenHandlers,
  ...costs.agent,
  ...floor.agent,
  ...fanout.agent,
  ...relay.agent,
  ...webhook.agent,
  ...bulk.agent,
  ...resume.agent,
  ...polling.agent,
  ...rush.agent,
  ...ops.agent,
};
export type AgentApi = typeof agentHandlers;

/** Each scenario's figures, under its name in the report's `scenarios`. */
export interface ScenarioResults {
  costs?: costs.CostsResult;
  floor?: floor.FloorResult;
  fanout?: fanout.FanoutResult;
  relay?: relay.RelayResult;
  webhook?: webhook.WebhookResult;
  bulk?: bulk.BulkResult;
  resume?: resume.ResumeResult;
  polling?: polling.PollingResult;
  rush?: rush.RushResult;
  ops?: ops.OpsRow[];
}
