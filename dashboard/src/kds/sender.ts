/**
 * Commands out, answers in: builds the request for an order, bulk or kitchen command from the
 * board as this screen sees it, sends it only while the board is live (nothing is ever queued),
 * and turns the room's ACK / BULK_RESULT / ERROR — or the lack of one — into what the cook is told.
 */
import type { BulkCommand, KitchenCommand, OrderCommand } from "./actions.ts";
import { isKitchenCommand } from "./actions.ts";
import { type BoardState, markSeen } from "./board.ts";
import { bulkRequest, type CommandRequest, orderRequest } from "./commands.ts";
import { kitchenRequest } from "./kitchen-commands.ts";
import { NOT_LIVE, type Report, reportOutcome, reportStray } from "./replies.ts";
import { type Reply, RequestTracker } from "./requests.ts";

export interface SenderHost {
  board: () => BoardState;
  /** Looking at a ticket is acting on it: it stops flashing. */
  setBoard: (board: BoardState) => void;
  live: () => boolean;
  /** Sends one frame now; false when it could not go. */
  send: (frame: object) => boolean;
  report: (report: Report) => void;
}

export class CommandSender {
  private readonly requests = new RequestTracker<CommandRequest>();

  constructor(private readonly host: SenderHost) {}

  order(command: OrderCommand): void {
    const request = orderRequest(command, this.host.board());
    if (!request || this.refuseNotLive() || this.requests.isPending(command.orderId)) return;
    // "Item sold out": the item is 86'd first, so the next order naming it is already refused.
    if (command.kind === "reject" && command.soldOut) this.kitchen({ kind: "eighty-six", name: command.soldOut });
    this.send(request);
  }

  bulk(command: BulkCommand, selected: Iterable<string>): void {
    if (this.refuseNotLive()) return;
    // Every selected ticket of the command's column goes: the room decides and says which moved.
    const request = bulkRequest(command, this.host.board(), selected);
    if (request) this.send(request);
  }

  kitchen(command: KitchenCommand): void {
    const request = kitchenRequest(command, this.host.board(), Date.now());
    if (request && !this.refuseNotLive()) this.send(request);
  }

  reply(reply: Reply): void {
    const outcome = this.requests.settle(reply);
    this.host.report(outcome ? reportOutcome(outcome, this.host.board()) : reportStray(reply));
  }

  /** The answer to anything in flight is lost with the socket; never resent — the stream tells what happened. */
  linkLost(): void {
    for (const lost of this.requests.abandonAll()) this.host.report(reportOutcome(lost, this.host.board()));
  }

  expire(now: number): void {
    for (const overdue of this.requests.expire(now)) this.host.report(reportOutcome(overdue, this.host.board()));
  }

  abandonAll(): void {
    this.requests.abandonAll();
  }

  /** What each ticket with a request in flight shows. */
  pendingLabels(): Map<string, string> {
    return this.requests.pendingLabels();
  }

  /** The words of a kitchen request in flight (pause, 86), if one is. */
  kitchenPending(): string | null {
    return this.requests.inFlightRequests().find((r) => isKitchenCommand(r.command))?.pending ?? null;
  }

  private send(request: CommandRequest): void {
    this.host.setBoard(markSeen(this.host.board(), request.orderIds));
    const requestId = this.requests.start(request, Date.now());
    if (!this.host.send({ ...request.frame, requestId })) {
      const outcome = this.requests.notSent(requestId);
      if (outcome) this.host.report(reportOutcome(outcome, this.host.board()));
    }
  }

  /** Says so when a key or tap tries to send from a board that is not live (nothing is queued). */
  private refuseNotLive(): boolean {
    if (this.host.live()) return false;
    this.host.report({ notice: NOT_LIVE, deselect: [] });
    return true;
  }
}
