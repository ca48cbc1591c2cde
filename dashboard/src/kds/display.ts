/**
 * The kitchen display: wires the merchant room's socket (RoomLink), the pure board reducer,
 * this screen's state, the view, the bump-bar keys and the device (sound, rush). Clicks and keys
 * become Actions (actions.ts) and `perform` runs them; commands go out only while the board is
 * live, and the request tracker matches the room's answers to them.
 */
import { type LinkStatus, RoomLink } from "../connection.ts";
import { setText } from "../dom.ts";
import type { Session } from "../session.ts";
import { GapCounter } from "../stream.ts";
import type { Action, BulkCommand, OrderCommand, ScreenAction } from "./actions.ts";
import {
  alarms,
  type BoardEffect,
  type BoardState,
  expireLeaving,
  forgetCursor,
  initialBoard,
  markSeen,
} from "./board.ts";
import { bulkRequest, type CommandRequest, orderRequest } from "./commands.ts";
import { KitchenDevice } from "./device.ts";
import { applyRoomEvent, parseFrame } from "./frames.ts";
import { type KeyContext, keyAction } from "./keys.ts";
import { exposeProbe } from "./probe.ts";
import { NOT_LIVE, type Report, reportOutcome, reportStray } from "./replies.ts";
import { type Reply, RequestTracker } from "./requests.ts";
import {
  addNotice,
  applyScreenAction,
  deselect,
  expireNotices,
  initialScreen,
  type NoticeDraft,
  pruneScreen,
  type ScreenState,
} from "./screen.ts";
import { clickActions } from "./view/buttons.ts";
import { type BoardDom, buildBoard } from "./view/layout.ts";
import { renderBoard } from "./view/render.ts";

export class KitchenDisplay {
  private board: BoardState = initialBoard();
  private screen: ScreenState = initialScreen();
  private readonly requests = new RequestTracker<CommandRequest>();
  private readonly dom: BoardDom;
  private readonly link: RoomLink;
  private readonly device: KitchenDevice;
  private readonly gaps = new GapCounter();
  private renderQueued = false;
  private destroyed = false;
  private readonly ticker: ReturnType<typeof setInterval>;
  private readonly onKey = (e: KeyboardEvent) => this.handleKey(e);

  constructor(
    mount: HTMLElement,
    private readonly session: Session,
    private readonly opts: { devMode: boolean; onSignOut: () => void; onUnauthorized: () => void },
  ) {
    const merchantId = session.claims.merchantId ?? "";
    this.device = new KitchenDevice({
      devMode: opts.devMode,
      merchantId,
      changed: () => this.render(),
      notify: (notice) => this.notify(notice),
      signOut: opts.onSignOut,
    });
    this.dom = buildBoard(`Kitchen · ${merchantId}`, session.name ?? session.claims.sub);
    mount.replaceChildren(this.dom.root);
    this.dom.root.addEventListener("click", (e) => this.handleClick(e));
    document.addEventListener("keydown", this.onKey);
    this.link = new RoomLink({
      path: `ws/merchant/${encodeURIComponent(merchantId)}/orders`,
      token: () => session.token,
      cursor: () => this.board.cursor,
      onEnvelope: (raw) => this.handleEnvelope(raw),
      onStatus: (status) => this.handleStatus(status),
      onRepeatedFailure: () => void this.checkToken(),
    });
    this.ticker = setInterval(() => this.tick(), 1000);
    exposeProbe(() => ({ board: this.board, status: this.link.status }));
    this.render();
  }

  destroy(): void {
    this.destroyed = true;
    clearInterval(this.ticker);
    document.removeEventListener("keydown", this.onKey);
    this.link.close();
    this.requests.abandonAll();
  }

  /** Runs one action — from a button, a click or a key: the one place an Action takes effect. */
  perform(action: Action): void {
    switch (action.kind) {
      case "accept":
      case "reject":
      case "start":
      case "ready":
      case "prep-time":
        this.sendOrderCommand(action);
        break;
      case "bulk-accept":
      case "bulk-ready":
        this.sendBulkCommand(action);
        break;
      case "sound":
      case "mute":
      case "rush":
      case "sign-out":
        this.device.perform(action);
        break;
      default:
        this.changeScreen(action);
    }
  }

  // ---------------------------------------------------------------- actions

  private sendOrderCommand(command: OrderCommand): void {
    // Picking a reason closes the menu, whatever happens next.
    if (command.kind === "reject") this.changeScreen({ kind: "close-reject" });
    const request = orderRequest(command, this.board);
    if (!request || this.refuseNotLive() || this.requests.isPending(command.orderId)) return;
    this.send(request);
  }

  private sendBulkCommand(command: BulkCommand): void {
    if (this.refuseNotLive()) return;
    // Every selected ticket of the command's column goes: the room decides and says which moved.
    const request = bulkRequest(command, this.board, this.screen.selected);
    if (request) this.send(request);
  }

  private send(request: CommandRequest): void {
    this.board = markSeen(this.board, request.orderIds);
    const requestId = this.requests.start(request, Date.now());
    if (!this.link.send({ ...request.frame, requestId })) {
      const outcome = this.requests.notSent(requestId);
      if (outcome) this.report(reportOutcome(outcome, this.board));
    }
    this.render();
  }

  /** Says so when a key or tap tries to send from a board that is not live (nothing is queued). */
  private refuseNotLive(): boolean {
    if (this.link.live) return false;
    this.notify(NOT_LIVE);
    return true;
  }

  private changeScreen(action: ScreenAction): void {
    ({ screen: this.screen, board: this.board } = applyScreenAction(this.screen, this.board, action));
    if (action.kind === "move-focus") this.scrollToFocus();
    this.render();
  }

  private scrollToFocus(): void {
    const id = this.screen.focused;
    if (!id) return;
    queueMicrotask(() =>
      this.dom.root.querySelector(`.ticket[data-order-id="${CSS.escape(id)}"]`)?.scrollIntoView({ block: "nearest" }),
    );
  }

  private report({ notice, deselect: done }: Report): void {
    this.screen = deselect(this.screen, done);
    if (notice) this.notify(notice);
  }

  private notify(draft: NoticeDraft): void {
    this.screen = addNotice(this.screen, draft, Date.now());
    this.render();
  }

  // ---------------------------------------------------------------- input

  private handleClick(e: MouseEvent): void {
    for (const action of clickActions(e.target as Element)) this.perform(action);
    this.render();
  }

  private handleKey(e: KeyboardEvent): void {
    const target = e.target as HTMLElement | null;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
    const taken = keyAction(e, this.keyContext());
    if (!taken) return;
    e.preventDefault();
    this.device.gesture();
    if (taken.action) this.perform(taken.action);
    this.render();
  }

  private keyContext(): KeyContext {
    const { focused, rejectMenu } = this.screen;
    const alarm = alarms(this.board)[0]?.order.id ?? null;
    return { focused: focused ? this.board.tickets[focused] : undefined, rejectMenu, alarm };
  }

  // ---------------------------------------------------------------- the room

  private handleEnvelope(raw: unknown): void {
    const frame = parseFrame(raw);
    if (!frame) return;
    if ("reply" in frame) this.handleReply(frame.reply);
    else {
      const env = frame.event;
      const { state, effects, synced } = applyRoomEvent(this.board, env, Date.now());
      if (state.merchant) this.nameKitchen(state.merchant.name);
      this.setBoard(state);
      if (synced) this.link.synced();
      this.runEffects(effects);
    }
    this.render();
  }

  private handleReply(reply: Reply): void {
    const outcome = this.requests.settle(reply);
    this.report(outcome ? reportOutcome(outcome, this.board) : reportStray(reply));
  }

  private nameKitchen(name: string): void {
    setText(this.dom.kitchen, name);
    document.title = `${name} · Ticket Rail`;
  }

  private setBoard(board: BoardState): void {
    this.board = board;
    this.screen = pruneScreen(this.screen, board);
  }

  private runEffects(effects: BoardEffect[]): void {
    const gap = effects.find((e) => e.kind === "gap");
    if (gap) {
      this.resumeAfterGap(gap);
      return;
    }
    if (effects.some((e) => e.kind === "cancelled-while-cooking")) this.device.alarm(true);
    if (effects.some((e) => e.kind === "new-order" || e.kind === "fired")) this.device.newOrder();
  }

  private resumeAfterGap(gap: Extract<BoardEffect, { kind: "gap" }>): void {
    const seen = `expected ${gap.expected}, got ${gap.got}`;
    if (this.gaps.record(Date.now()) === "snapshot") {
      console.warn(`[ticket-rail] stream gap again (${seen}): taking a fresh snapshot`);
      this.board = forgetCursor(this.board);
    } else {
      console.warn(`[ticket-rail] stream gap (${seen}): resuming from ${this.board.cursor?.since ?? 0}`);
    }
    this.link.resume();
  }

  private handleStatus(status: LinkStatus): void {
    // The answer to anything in flight is lost with the socket; the stream will tell what
    // happened. Never resend: the cook decides again on a live board.
    if (status !== "live") for (const lost of this.requests.abandonAll()) this.report(reportOutcome(lost, this.board));
    this.render();
  }

  private async checkToken(): Promise<void> {
    const merchantId = this.session.claims.merchantId ?? "";
    try {
      const res = await fetch(`/api/merchants/${encodeURIComponent(merchantId)}/orders?limit=1`, {
        headers: { Authorization: `Bearer ${this.session.token}` },
      });
      if (res.status === 401 || res.status === 403 || res.status === 404) this.opts.onUnauthorized();
    } catch {
      // Network down: the status already says so.
    }
  }

  // ---------------------------------------------------------------- clock and render

  private tick(): void {
    const now = Date.now();
    this.setBoard(expireLeaving(this.board, now));
    this.screen = expireNotices(this.screen, now);
    for (const overdue of this.requests.expire(now)) this.report(reportOutcome(overdue, this.board));
    if (alarms(this.board).length > 0) this.device.alarm();
    this.render();
  }

  private render(): void {
    if (this.renderQueued || this.destroyed) return;
    this.renderQueued = true;
    queueMicrotask(() => {
      this.renderQueued = false;
      renderBoard(
        this.dom,
        {
          board: this.board,
          screen: this.screen,
          link: this.link.status,
          downSince: this.link.downSince,
          pending: this.requests.pendingLabels(),
          sound: this.device.soundState,
          rush: this.device.rush,
        },
        Date.now(),
      );
    });
  }
}
