/**
 * The kitchen display: wires the merchant room's socket (RoomLink), the pure board reducer,
 * the view, the bump-bar keys, sounds and the dev rush. Every frame is parsed with the
 * contract's schema before it touches state; actions go out only while the board is live.
 */
import {
  MerchantServerEnvelopeSchema,
  type BulkItemResult,
  type MerchantAction,
  type MerchantServerEnvelope,
} from "../../../schema/index.ts";
import { browserClient } from "../api.ts";
import {
  acknowledgeAlarm,
  applyReplayDone,
  applySnapshot,
  applyStreamEvent,
  COLUMNS,
  expireLeaving,
  forgetCursor,
  initialBoard,
  isActionable,
  markSeen,
  ticketsIn,
  type BoardEffect,
  type BoardState,
} from "./board.ts";
import { RoomLink, type LinkStatus } from "../connection.ts";
import { buildBoard, REJECT_REASONS, renderBoard, type BoardDom, type Notice, type ViewState } from "./view.ts";
import { commandForKey, moveFocus, type KeyCommand } from "./keys.ts";
import { shortOrderNumber } from "../format.ts";
import { runRush } from "../rush.ts";
import type { Session } from "../session.ts";
import { KitchenSound } from "./sound.ts";
import { setText } from "../dom.ts";

type Reply = Extract<MerchantServerEnvelope, { event: "ACK" | "BULK_RESULT" | "ERROR" }>;

/** A request without an answer this long is reported as unknown (never retried blindly). */
const REPLY_TIMEOUT_MS = 10_000;
const ALARM_REPEAT_MS = 5_000;
/** More gaps than this within GAP_WINDOW_MS: stop resuming and take a fresh snapshot. */
const MAX_GAPS = 3;
const GAP_WINDOW_MS = 10_000;

interface PendingRequest {
  resolve: (reply: Reply) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** What tests and curious engineers can read from the console: `window.__ticketRail`. */
export interface KitchenProbe {
  readonly stats: BoardState["stats"];
  readonly status: LinkStatus;
  readonly seq: number;
  readonly tickets: Array<{ id: string; status: string; leaving: boolean }>;
}

export class KitchenDisplay {
  private board: BoardState = initialBoard();
  private readonly dom: BoardDom;
  private readonly link: RoomLink;
  private readonly sound = new KitchenSound();
  private readonly requests = new Map<string, PendingRequest>();
  private focused: string | null = null;
  private selected = new Set<string>();
  private rejectMenu: string | null = null;
  private pending = new Map<string, string>();
  private notices: Notice[] = [];
  private noticeSeq = 0;
  private rush = { available: false, running: false, placed: 0 };
  private renderQueued = false;
  private lastAlarmSound = 0;
  private recentGaps: number[] = [];
  private readonly ticker: ReturnType<typeof setInterval>;
  private readonly onKey = (e: KeyboardEvent) => this.handleKey(e);

  constructor(
    mount: HTMLElement,
    private readonly session: Session,
    private readonly opts: { devMode: boolean; onSignOut: () => void; onUnauthorized: () => void },
  ) {
    const merchantId = session.claims.merchantId ?? "";
    this.rush.available = opts.devMode;
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
    // Getters, so a test reading window.__ticketRail always sees the current state.
    const display = this;
    const probe: KitchenProbe = {
      get stats() {
        return display.board.stats;
      },
      get status() {
        return display.link.status;
      },
      get seq() {
        return display.board.cursor?.since ?? 0;
      },
      get tickets() {
        return Object.values(display.board.tickets).map((t) => ({
          id: t.order.id,
          status: t.order.status,
          leaving: !!t.leaving,
        }));
      },
    };
    (window as unknown as { __ticketRail: KitchenProbe }).__ticketRail = probe;
    this.render();
  }

  destroy(): void {
    clearInterval(this.ticker);
    document.removeEventListener("keydown", this.onKey);
    this.link.close();
    for (const r of this.requests.values()) clearTimeout(r.timer);
    this.requests.clear();
  }

  // ---------------------------------------------------------------- frames

  private handleEnvelope(raw: unknown): void {
    const parsed = MerchantServerEnvelopeSchema.safeParse(raw);
    if (!parsed.success) {
      console.warn("[ticket-rail] ignoring a frame that does not match the contract", parsed.error.issues);
      return;
    }
    const env = parsed.data;
    const now = Date.now();
    switch (env.event) {
      case "SNAPSHOT": {
        if (env.payload.merchant) {
          setText(this.dom.kitchen, env.payload.merchant.name);
          document.title = `${env.payload.merchant.name} · Ticket Rail`;
        }
        const { state, effects } = applySnapshot(
          this.board,
          { seq: env.seq, epoch: env.payload.epoch, orders: env.payload.orders },
          now,
        );
        this.board = state;
        this.pruneUiState();
        this.link.synced();
        this.runEffects(effects);
        break;
      }
      case "REPLAY_DONE": {
        const { state, effects } = applyReplayDone(this.board, { seq: env.seq, epoch: env.payload.epoch });
        this.board = state;
        if (effects.length === 0) this.link.synced();
        this.runEffects(effects);
        break;
      }
      case "ACK":
      case "BULK_RESULT":
      case "ERROR": {
        const request = env.requestId !== undefined ? this.requests.get(env.requestId) : undefined;
        if (request) {
          this.requests.delete(env.requestId!);
          clearTimeout(request.timer);
          request.resolve(env);
        } else if (env.event === "ERROR") {
          this.notify("error", `Kitchen server: ${env.payload.message}`, [], 10_000);
        }
        break;
      }
      default: {
        const { state, effects } = applyStreamEvent(
          this.board,
          { seq: env.seq, event: env.event, order: env.payload.order },
          now,
        );
        this.board = state;
        this.runEffects(effects);
        this.pruneUiState();
      }
    }
    this.render();
  }

  private runEffects(effects: BoardEffect[]): void {
    let chime = false;
    for (const e of effects) {
      if (e.kind === "new-order") chime = true;
      else if (e.kind === "cancelled-while-cooking") this.soundAlarm(true);
      else if (e.kind === "gap") {
        const now = Date.now();
        this.recentGaps = [...this.recentGaps.filter((t) => now - t < GAP_WINDOW_MS), now];
        if (this.recentGaps.length > MAX_GAPS) {
          console.warn(
            `[ticket-rail] stream gap again (expected ${e.expected}, got ${e.got}): taking a fresh snapshot`,
          );
          this.board = forgetCursor(this.board);
          this.recentGaps = [];
        } else {
          console.warn(
            `[ticket-rail] stream gap (expected ${e.expected}, got ${e.got}): resuming from ${this.board.cursor?.since ?? 0}`,
          );
        }
        this.link.resume();
        return;
      }
    }
    if (chime) this.sound.newOrder();
  }

  private soundAlarm(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastAlarmSound < ALARM_REPEAT_MS) return;
    this.lastAlarmSound = now;
    this.sound.alarm();
  }

  private handleStatus(status: LinkStatus): void {
    if (status !== "live") {
      // The answer to anything in flight is lost with the socket; the stream will tell what
      // happened. Never resend: the cook decides again on a live board.
      for (const [id, r] of this.requests) {
        clearTimeout(r.timer);
        r.reject(new Error("connection lost before the kitchen server answered — check the ticket"));
        this.requests.delete(id);
      }
    }
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

  // ---------------------------------------------------------------- actions

  private request(frame: Omit<MerchantAction, "requestId">): Promise<Reply> {
    const requestId = crypto.randomUUID();
    return new Promise<Reply>((resolve, reject) => {
      if (!this.link.send({ ...frame, requestId })) {
        reject(new Error("not live — nothing was sent"));
        return;
      }
      const timer = setTimeout(() => {
        this.requests.delete(requestId);
        reject(new Error("no answer from the kitchen server — check the ticket"));
      }, REPLY_TIMEOUT_MS);
      this.requests.set(requestId, { resolve, reject, timer });
    });
  }

  /** Says so when a key or tap tries to act on a board that is not live (nothing is queued). */
  private refuseNotLive(): boolean {
    if (this.link.live) return false;
    this.notify(
      "warn",
      "Not live — nothing was sent",
      [{ ok: false, text: "This screen is not in sync with the kitchen. Try again once it shows LIVE." }],
      6_000,
    );
    return true;
  }

  private async act(
    orderId: string,
    label: string,
    frame: Omit<MerchantAction, "requestId">,
    verb: string,
  ): Promise<void> {
    if (this.refuseNotLive() || this.pending.has(orderId)) return;
    this.board = markSeen(this.board, [orderId]);
    this.pending.set(orderId, label);
    this.render();
    try {
      const reply = await this.request(frame);
      if (reply.event === "ERROR")
        this.notify(
          "error",
          `${shortOrderNumber(orderId)}: could not ${verb}`,
          [{ ok: false, orderId, text: this.explain(orderId, reply.payload) }],
          15_000,
        );
    } catch (err) {
      this.notify(
        "warn",
        `${shortOrderNumber(orderId)}: ${verb} — outcome unknown`,
        [{ ok: false, orderId, text: err instanceof Error ? err.message : String(err) }],
        15_000,
      );
    } finally {
      this.pending.delete(orderId);
      this.render();
    }
  }

  private accept(orderId: string, prepMinutes?: number): void {
    const t = this.board.tickets[orderId];
    if (!t || !isActionable(t) || t.order.status !== "PLACED") return;
    void this.act(
      orderId,
      "Accepting…",
      { action: "MERCHANT_ACCEPT", payload: { orderId, ...(prepMinutes !== undefined ? { prepMinutes } : {}) } },
      "accept",
    );
  }

  private start(orderId: string): void {
    const t = this.board.tickets[orderId];
    if (!t || !isActionable(t) || t.order.status !== "ACCEPTED") return;
    void this.act(orderId, "Starting…", { action: "MERCHANT_MARK_PREPARING", payload: { orderId } }, "start");
  }

  private ready(orderId: string): void {
    const t = this.board.tickets[orderId];
    if (!t || !isActionable(t) || (t.order.status !== "ACCEPTED" && t.order.status !== "PREPARING")) return;
    void this.act(orderId, "Marking ready…", { action: "MERCHANT_MARK_READY", payload: { orderId } }, "mark ready");
  }

  private reject(orderId: string, reasonIndex: number): void {
    const reason = REJECT_REASONS[reasonIndex];
    const t = this.board.tickets[orderId];
    this.rejectMenu = null;
    if (!reason || !t || !isActionable(t) || t.order.status !== "PLACED") return;
    void this.act(orderId, "Rejecting…", { action: "MERCHANT_REJECT", payload: { orderId, reason } }, "reject");
  }

  private changePrep(orderId: string, delta: number): void {
    const t = this.board.tickets[orderId];
    if (!t || !isActionable(t) || (t.order.status !== "ACCEPTED" && t.order.status !== "PREPARING")) return;
    const prepMinutes = Math.min(180, Math.max(1, (t.order.prepMinutes ?? 15) + delta));
    if (prepMinutes === t.order.prepMinutes) return;
    void this.act(
      orderId,
      "Updating prep time…",
      { action: "MERCHANT_UPDATE_PREP_TIME", payload: { orderId, prepMinutes } },
      "change the prep time",
    );
  }

  /** Enter: the next step of the focused ticket (or acknowledge a cancellation alarm first). */
  private bump(): void {
    const alarmed = Object.values(this.board.tickets).find((t) => t.leaving?.alarm);
    if (alarmed) {
      this.acknowledge(alarmed.order.id);
      return;
    }
    const t = this.focused ? this.board.tickets[this.focused] : undefined;
    if (!t) return;
    if (this.rejectMenu === t.order.id) return;
    if (t.order.status === "PLACED") this.accept(t.order.id);
    else this.ready(t.order.id);
  }

  private acknowledge(orderId: string): void {
    this.board = acknowledgeAlarm(this.board, orderId);
    this.pruneUiState();
    this.render();
  }

  private async bulk(kind: "accept" | "ready"): Promise<void> {
    if (this.refuseNotLive()) return;
    const column = kind === "accept" ? "new" : "cooking";
    // Every selected ticket of that column goes, even one this screen already shows as
    // cancelled: the room decides, and the results say which moved and why others did not.
    const ids = [...this.selected].filter((id) => this.board.tickets[id]?.column === column);
    if (ids.length === 0) return;
    const title = kind === "accept" ? "Accept selected" : "Ready selected";
    for (const id of ids) this.pending.set(id, kind === "accept" ? "Accepting…" : "Marking ready…");
    this.board = markSeen(this.board, ids);
    this.render();
    try {
      const reply = await this.request(
        kind === "accept"
          ? { action: "BULK_ACCEPT", payload: { orderIds: ids } }
          : { action: "BULK_MARK_READY", payload: { orderIds: ids } },
      );
      if (reply.event === "BULK_RESULT") this.reportBulk(title, kind, reply.payload.results);
      else if (reply.event === "ERROR")
        this.notify(
          "error",
          `${title}: refused`,
          [{ ok: false, text: `${reply.payload.message} (${reply.payload.code})` }],
          20_000,
        );
      for (const id of ids) this.selected.delete(id);
    } catch (err) {
      this.notify(
        "warn",
        `${title}: outcome unknown`,
        [{ ok: false, text: err instanceof Error ? err.message : String(err) }],
        20_000,
      );
    } finally {
      for (const id of ids) this.pending.delete(id);
      this.render();
    }
  }

  private reportBulk(title: string, kind: "accept" | "ready", results: BulkItemResult[]): void {
    const ok = results.filter((r) => r.ok).length;
    const failed = results.length - ok;
    const lines = results.map((r) =>
      r.ok
        ? {
            ok: true,
            orderId: r.orderId,
            text: `${shortOrderNumber(r.orderId)} ${kind === "accept" ? `accepted${r.order.prepMinutes ? ` · ${r.order.prepMinutes} min` : ""}` : "ready"}`,
          }
        : {
            ok: false,
            orderId: r.orderId,
            text: `${shortOrderNumber(r.orderId)} failed — ${this.explain(r.orderId, r.error)}`,
          },
    );
    const verb = kind === "accept" ? "accepted" : "ready";
    this.notify(
      failed ? "warn" : "ok",
      `${title}: ${ok} of ${results.length} ${verb}${failed ? `, ${failed} failed` : ""}`,
      lines,
      failed ? 60_000 : 8_000,
    );
  }

  /** Why the room refused: in kitchen words when the board knows, plus the contract's code. */
  private explain(orderId: string, error: { code: string; message: string }): string {
    const o = this.board.tickets[orderId]?.order;
    let why = error.message;
    if (error.code === "INVALID_TRANSITION" && o) {
      if (o.status === "CANCELLED") why = `it was cancelled${o.cancelReason ? ` (“${o.cancelReason}”)` : ""}`;
      else if (o.status === "EXPIRED") why = "it expired before it was accepted";
      else if (o.status === "REJECTED") why = "it was already rejected";
      else why = `it is already ${o.status.toLowerCase().replace("_", " ")}`;
    } else if (error.code === "NOT_FOUND") why = "no such order";
    return `${why} [${error.code}]`;
  }

  private notify(tone: Notice["tone"], title: string, lines: Notice["lines"], ttlMs: number | null): void {
    this.notices = [
      ...this.notices.slice(-3),
      { id: ++this.noticeSeq, tone, title, lines, until: ttlMs === null ? null : Date.now() + ttlMs },
    ];
    this.render();
  }

  // ---------------------------------------------------------------- input

  private handleClick(e: MouseEvent): void {
    const target = e.target as HTMLElement;
    const button = target.closest<HTMLElement>("[data-action]");
    const card = target.closest<HTMLElement>(".ticket");
    if (card?.dataset.orderId) {
      // Touching a ticket is looking at it: the flash stops and the focus follows.
      this.focused = card.dataset.orderId;
      this.board = markSeen(this.board, [card.dataset.orderId]);
    }
    if (!button) {
      this.render();
      return;
    }
    const id = button.dataset.orderId ?? "";
    switch (button.dataset.action) {
      case "accept":
        this.accept(id, Number(button.dataset.prep) || undefined);
        break;
      case "reject":
        this.rejectMenu = id;
        break;
      case "reject-reason":
        this.reject(id, Number(button.dataset.reason));
        break;
      case "reject-cancel":
        this.rejectMenu = null;
        break;
      case "start":
        this.start(id);
        break;
      case "ready":
        this.ready(id);
        break;
      case "prep":
        this.changePrep(id, Number(button.dataset.delta));
        break;
      case "select":
        this.toggleSelect(id);
        break;
      case "ack":
        this.acknowledge(id);
        break;
      case "bulk-accept":
        void this.bulk("accept");
        break;
      case "bulk-ready":
        void this.bulk("ready");
        break;
      case "clear-selection":
        this.selected.clear();
        break;
      case "dismiss":
        this.notices = this.notices.filter((n) => String(n.id) !== button.dataset.notice);
        break;
      case "sound":
        void this.toggleSound();
        break;
      case "rush":
        void this.startRush();
        break;
      case "signout":
        this.opts.onSignOut();
        return;
    }
    this.render();
  }

  private toggleSelect(id: string): void {
    const t = this.board.tickets[id];
    if (!t || t.leaving) return;
    if (this.selected.has(id)) this.selected.delete(id);
    else this.selected.add(id);
    this.board = markSeen(this.board, [id]);
  }

  private async toggleSound(): Promise<void> {
    if (!this.sound.enabled) {
      await this.sound.enable();
      this.sound.setMuted(false);
    } else {
      this.sound.setMuted(!this.sound.muted);
    }
    this.render();
  }

  private handleKey(e: KeyboardEvent): void {
    const target = e.target as HTMLElement | null;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
    const cmd = commandForKey(e, this.rejectMenu !== null);
    if (!cmd) return;
    e.preventDefault();
    // A key press is a user gesture: the first one may unlock sound.
    if (!this.sound.enabled && !this.sound.muted) void this.sound.enable().then(() => this.render());
    this.runCommand(cmd);
    this.render();
  }

  private runCommand(cmd: KeyCommand): void {
    const id = this.focused;
    switch (cmd.kind) {
      case "move": {
        const columns = COLUMNS.map((c) => ticketsIn(this.board, c.id).map((t) => t.order.id));
        this.focused = moveFocus(columns, this.focused, cmd.dx, cmd.dy);
        this.rejectMenu = null;
        if (this.focused) {
          this.board = markSeen(this.board, [this.focused]);
          const focusedId = this.focused;
          queueMicrotask(() =>
            this.dom.root
              .querySelector(`.ticket[data-order-id="${CSS.escape(focusedId)}"]`)
              ?.scrollIntoView({ block: "nearest" }),
          );
        }
        return;
      }
      case "bump":
        this.bump();
        return;
      case "accept":
        if (id) this.accept(id, cmd.prepMinutes);
        return;
      case "start":
        if (id) this.start(id);
        return;
      case "ready":
        if (id) this.ready(id);
        return;
      case "reject":
        if (id && this.board.tickets[id]?.order.status === "PLACED" && isActionable(this.board.tickets[id]))
          this.rejectMenu = id;
        return;
      case "reason":
        if (this.rejectMenu) this.reject(this.rejectMenu, cmd.index);
        return;
      case "prep":
        if (id) this.changePrep(id, cmd.delta);
        return;
      case "select":
        if (id) this.toggleSelect(id);
        return;
      case "bulk-accept":
        void this.bulk("accept");
        return;
      case "bulk-ready":
        void this.bulk("ready");
        return;
      case "escape":
        if (this.rejectMenu) this.rejectMenu = null;
        else this.selected.clear();
        return;
      case "mute":
        this.sound.setMuted(!this.sound.muted);
        return;
    }
  }

  private async startRush(): Promise<void> {
    if (this.rush.running) return;
    this.rush = { ...this.rush, running: true, placed: 0 };
    this.render();
    const merchantId = this.session.claims.merchantId ?? "";
    const summary = await runRush({
      client: browserClient(),
      merchantId,
      orders: 12,
      log: (line) => {
        if (line.startsWith("placed")) this.rush.placed++;
        console.info(`[rush] ${line}`);
        this.render();
      },
    });
    this.rush = { ...this.rush, running: false };
    this.notify(
      summary.errors.length ? "warn" : "ok",
      `Rush done: ${summary.placed.length} orders, ${summary.cancelled.length} cancelled by customers, ${summary.driverMoves} driver moves`,
      summary.errors.slice(0, 3).map((text) => ({ ok: false, text })),
      15_000,
    );
  }

  // ---------------------------------------------------------------- render loop

  /** Selection, focus and menus only point at tickets that are still on the board. */
  private pruneUiState(): void {
    for (const id of this.selected) if (!this.board.tickets[id]) this.selected.delete(id);
    if (this.focused && !this.board.tickets[this.focused]) this.focused = null;
    const menuTicket = this.rejectMenu ? this.board.tickets[this.rejectMenu] : undefined;
    if (this.rejectMenu && (!menuTicket || !isActionable(menuTicket))) this.rejectMenu = null;
  }

  private tick(): void {
    const now = Date.now();
    this.board = expireLeaving(this.board, now);
    this.notices = this.notices.filter((n) => n.until === null || n.until > now);
    this.pruneUiState();
    if (Object.values(this.board.tickets).some((t) => t.leaving?.alarm)) this.soundAlarm();
    this.render();
  }

  private render(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    queueMicrotask(() => {
      this.renderQueued = false;
      const view: ViewState = {
        board: this.board,
        link: this.link.status,
        downSince: this.link.downSince,
        focused: this.focused,
        selected: this.selected,
        rejectMenu: this.rejectMenu,
        pending: this.pending,
        notices: this.notices,
        sound: !this.sound.enabled ? "off" : this.sound.muted ? "muted" : "on",
        rush: this.rush,
        kitchen: this.session.claims.merchantId ?? "",
        staff: this.session.name ?? this.session.claims.sub,
      };
      renderBoard(this.dom, view, Date.now());
    });
  }
}
