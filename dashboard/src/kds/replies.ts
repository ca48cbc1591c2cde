/**
 * What a cook is told about a request's outcome, with no DOM: nothing for a plain success, the
 * room's refusal in kitchen words (with the contract's code), per-order results of a bulk
 * command, and "outcome unknown" when no answer came.
 */
import type { BulkItemResult, ErrorBody } from "../../../schema/index.ts";
import { shortOrderNumber } from "../format.ts";
import { isBulkCommand, isKitchenCommand } from "./actions.ts";
import type { BoardState } from "./board.ts";
import { BULK_COMMANDS, type CommandRequest, ORDER_COMMANDS } from "./commands.ts";
import { kitchenVerb } from "./kitchen-commands.ts";
import type { Outcome, Reply, Unanswered } from "./requests.ts";
import type { NoticeDraft } from "./screen.ts";

export interface Report {
  notice: NoticeDraft | null;
  /** Tickets to take out of the selection: a bulk command the room answered is done with them. */
  deselect: readonly string[];
}

const NOTHING: Report = { notice: null, deselect: [] };

export const UNANSWERED_TEXT: Record<Unanswered, string> = {
  "not-sent": "not live — nothing was sent",
  timeout: "no answer from the kitchen server — check the ticket",
  "link-lost": "connection lost before the kitchen server answered — check the ticket",
};

/** What to show for the outcome of one of this screen's requests. */
export function reportOutcome(outcome: Outcome<CommandRequest>, board: BoardState): Report {
  const { command, orderIds } = outcome.request;
  if (isBulkCommand(command)) {
    const { title } = BULK_COMMANDS[command.kind];
    if ("unanswered" in outcome) {
      return { notice: warnUnknown(`${title}: outcome unknown`, outcome.unanswered, undefined, 20_000), deselect: [] };
    }
    return { notice: bulkNotice(command.kind, outcome.reply, board), deselect: orderIds };
  }
  if (isKitchenCommand(command)) {
    const verb = kitchenVerb(command);
    if ("unanswered" in outcome)
      return { ...NOTHING, notice: warnUnknown(`${verb}: outcome unknown`, outcome.unanswered, undefined, 15_000) };
    if (outcome.reply.event !== "ERROR") return NOTHING;
    const { message, code } = outcome.reply.payload;
    const lines = [{ ok: false, text: `${message} [${code}]` }];
    return { ...NOTHING, notice: { tone: "error", title: `Could not ${verb}`, lines, ttlMs: 15_000 } };
  }
  const { verb } = ORDER_COMMANDS[command.kind];
  const orderId = command.orderId;
  const short = shortOrderNumber(orderId);
  if ("unanswered" in outcome)
    return {
      ...NOTHING,
      notice: warnUnknown(`${short}: ${verb} — outcome unknown`, outcome.unanswered, orderId, 15_000),
    };
  if (outcome.reply.event !== "ERROR") return NOTHING;
  const text = explain(orderId, outcome.reply.payload, board);
  return {
    ...NOTHING,
    notice: {
      tone: "error",
      title: `${short}: could not ${verb}`,
      lines: [{ ok: false, orderId, text }],
      ttlMs: 15_000,
    },
  };
}

/** A reply that answers none of this screen's requests: only an ERROR is worth showing. */
export function reportStray(reply: Reply): Report {
  if (reply.event !== "ERROR") return NOTHING;
  return {
    ...NOTHING,
    notice: { tone: "error", title: `Kitchen server: ${reply.payload.message}`, lines: [], ttlMs: 10_000 },
  };
}

/** A key or tap on a board that is not live: nothing was sent, and nothing is queued. */
export const NOT_LIVE: NoticeDraft = {
  tone: "warn",
  title: "Not live — nothing was sent",
  lines: [{ ok: false, text: "This screen is not in sync with the kitchen. Try again once it shows LIVE." }],
  ttlMs: 6_000,
};

function warnUnknown(title: string, why: Unanswered, orderId: string | undefined, ttlMs: number): NoticeDraft {
  return {
    tone: "warn",
    title,
    lines: [{ ok: false, ...(orderId ? { orderId } : {}), text: UNANSWERED_TEXT[why] }],
    ttlMs,
  };
}

function bulkNotice(kind: keyof typeof BULK_COMMANDS, reply: Reply, board: BoardState): NoticeDraft | null {
  const { title } = BULK_COMMANDS[kind];
  if (reply.event === "ERROR") {
    const text = `${reply.payload.message} (${reply.payload.code})`;
    return { tone: "error", title: `${title}: refused`, lines: [{ ok: false, text }], ttlMs: 20_000 };
  }
  return reply.event === "BULK_RESULT" ? bulkResults(kind, reply.payload.results, board) : null;
}

function bulkResults(kind: keyof typeof BULK_COMMANDS, results: BulkItemResult[], board: BoardState): NoticeDraft {
  const { title, done, moved } = BULK_COMMANDS[kind];
  const ok = results.filter((r) => r.ok).length;
  const failed = results.length - ok;
  const lines = results.map((r) => ({
    ok: r.ok,
    orderId: r.orderId,
    text: `${shortOrderNumber(r.orderId)} ${r.ok ? moved(r.order) : `failed — ${explain(r.orderId, r.error, board)}`}`,
  }));
  return {
    tone: failed ? "warn" : "ok",
    title: `${title}: ${ok} of ${results.length} ${done}${failed ? `, ${failed} failed` : ""}`,
    lines,
    ttlMs: failed ? 60_000 : 8_000,
  };
}

/** Why the room refused: in kitchen words when the board knows, plus the contract's code. */
export function explain(orderId: string, error: Pick<ErrorBody, "code" | "message">, board: BoardState): string {
  const o = board.tickets[orderId]?.order;
  let why = error.message;
  if (error.code === "INVALID_TRANSITION" && o) {
    if (o.status === "CANCELLED") why = `it was cancelled${o.cancelReason ? ` (“${o.cancelReason}”)` : ""}`;
    else if (o.status === "EXPIRED") why = "it expired before it was accepted";
    else if (o.status === "REJECTED") why = "it was already rejected";
    else why = `it is already ${o.status.toLowerCase().replace("_", " ")}`;
  } else if (error.code === "NOT_FOUND") why = "no such order";
  return `${why} [${error.code}]`;
}
