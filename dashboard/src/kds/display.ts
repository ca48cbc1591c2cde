/**
 * The kitchen display: wires the merchant room's socket (RoomLink), the pure board reducer,
 * this screen's state, the view, the bump-bar keys and the device (sound, printing, wake lock).
 * Clicks, keys and forms become Actions (actions.ts) and `perform` runs them; commands go out
 * only while the board is live, and the request tracker matches the room's answers to them.
 */
import { type LinkStatus, RoomLink } from "../connection.ts";
import { kitchenRefused, type Session } from "../session.ts";
import { GapCounter } from "../stream.ts";
import {
  type Action,
  isBulkCommand,
  isKitchenCommand,
  isOrderCommand,
  type OrderCommand,
  type ScreenAction,
} from "./actions.ts";
import { allergenWords } from "./allergens.ts";
import { availabilityNotice } from "./availability.ts";
import { alarms, type BoardEffect, type BoardState, expireLeaving, forgetCursor, initialBoard } from "./board.ts";
import { KitchenDevice } from "./device.ts";
import { applyRoomEvent, parseFrame } from "./frames.ts";
import { pressKey } from "./key-press.ts";
import { printJob } from "./print-model.ts";
import { Printer } from "./printer.ts";
import { exposeProbe } from "./probe.ts";
import type { Report } from "./replies.ts";
import { CommandSender } from "./sender.ts";
import { addNotice, applyScreenAction, deselect, expireNotices, initialScreen, pruneScreen } from "./screen.ts";
import type { NoticeDraft, ScreenState } from "./screen.ts";
import { findStation } from "./stations.ts";
import { clickActions } from "./view/buttons.ts";
import { syncFocus } from "./view/focus.ts";
import { formAction, showStationInUrl, stationFromUrl } from "./view/inputs.ts";
import { type BoardDom, buildBoard } from "./view/layout.ts";
import { renderBoard } from "./view/render.ts";
import { ScreenAwake } from "./wake.ts";

export class KitchenDisplay {
  private board: BoardState = initialBoard();
  private screen: ScreenState = initialScreen(stationFromUrl());
  private readonly sender: CommandSender;
  private readonly dom: BoardDom;
  private readonly link: RoomLink;
  private readonly device: KitchenDevice;
  private readonly printer: Printer;
  private readonly awake = new ScreenAwake();
  private readonly gaps = new GapCounter();
  private renderQueued = false;
  private destroyed = false;
  /** A key moved the bump-bar cursor: the next render gives that card keyboard focus. */
  private focusWanted = false;
  private readonly ticker: ReturnType<typeof setInterval>;
  private readonly onKey = (e: KeyboardEvent) => this.handleKey(e);
  /** When a pointer last went down: the focus that follows is the click's business, not Tab's. */
  private pointerAt = 0;
  private readonly onTouch = () => {
    this.pointerAt = Date.now();
    this.device.gesture("touch");
  };

  constructor(
    mount: HTMLElement,
    session: Session,
    opts: { devMode: boolean; onSignOut: () => void; onUnauthorized: () => void },
  ) {
    const merchantId = session.claims.merchantId ?? "";
    this.device = new KitchenDevice({
      devMode: opts.devMode,
      merchantId,
      changed: () => this.render(),
      notify: (notice) => this.notify(notice),
      signOut: opts.onSignOut,
    });
    this.dom = buildBoard(merchantId, session.name ?? session.claims.sub);
    mount.replaceChildren(this.dom.root);
    document.body.appendChild(this.dom.print);
    this.printer = new Printer(this.dom.print);
    const root = this.dom.root;
    root.addEventListener("click", (e) => this.handleClick(e));
    root.addEventListener("submit", (e) => this.handleForm(e));
    root.addEventListener("change", (e) => this.handleForm(e));
    root.addEventListener("focusin", (e) => this.handleFocusIn(e));
    document.addEventListener("keydown", this.onKey);
    document.addEventListener("pointerdown", this.onTouch);
    this.sender = new CommandSender({
      board: () => this.board,
      setBoard: (board) => {
        this.board = board;
      },
      live: () => this.link.live,
      send: (frame) => this.link.send(frame),
      report: (report) => this.report(report),
    });
    this.link = new RoomLink({
      path: `ws/merchant/${encodeURIComponent(merchantId)}/orders`,
      token: () => session.token,
      cursor: () => this.board.cursor,
      // Same stream, same seq for every station (CONTRACT.md): the screen filters, the room may log it.
      query: (): Record<string, string> => (this.screen.station ? { station: this.screen.station } : {}),
      onEnvelope: (raw) => this.handleEnvelope(raw),
      onStatus: (status) => this.handleStatus(status),
      onRepeatedFailure: () => void kitchenRefused(session).then((refused) => refused && opts.onUnauthorized()),
    });
    this.awake.start();
    this.ticker = setInterval(() => this.tick(), 1000);
    exposeProbe(() => ({
      board: this.board,
      status: this.link.status,
      printed: this.printer.printed,
      wake: this.awake.state,
      station: this.screen.station,
    }));
    this.render();
  }

  destroy(): void {
    this.destroyed = true;
    clearInterval(this.ticker);
    document.removeEventListener("keydown", this.onKey);
    document.removeEventListener("pointerdown", this.onTouch);
    this.awake.stop();
    this.dom.print.remove();
    this.link.close();
    this.sender.abandonAll();
  }

  /** Runs one action — from a button, a click, a key or a form: the one place an Action takes effect. */
  perform(action: Action): void {
    if (isOrderCommand(action)) this.sendOrderCommand(action);
    else if (isBulkCommand(action)) this.sender.bulk(action, this.screen.selected);
    else if (isKitchenCommand(action)) {
      this.sender.kitchen(action);
      // Choosing how the kitchen takes orders ends the gesture: back to the board, which shows it.
      if (action.kind === "availability" && this.screen.panel) this.changeScreen({ kind: "toggle-panel" });
    } else if (action.kind === "print") this.print([action.orderId]);
    else if (action.kind === "auto-print") this.printer.toggleAutoPrint();
    else if (action.kind === "sound" || action.kind === "mute" || action.kind === "rush" || action.kind === "sign-out")
      this.device.perform(action);
    else this.changeScreen(action);
    this.render();
  }

  // ---------------------------------------------------------------- actions

  private sendOrderCommand(command: OrderCommand): void {
    // Picking a reason closes the menu, whatever happens next; so does sending the item editor.
    if (command.kind === "reject") this.changeScreen({ kind: "close-reject" });
    if (command.kind === "adjust") this.changeScreen({ kind: "close-adjust" });
    this.sender.order(command);
    this.render();
  }

  private changeScreen(action: ScreenAction): void {
    const station = this.screen.station;
    ({ screen: this.screen, board: this.board } = applyScreenAction(this.screen, this.board, action));
    if (this.screen.station !== station) {
      showStationInUrl(this.screen.station);
      // Reconnects with the new ?station= and resumes from this screen's seq: nothing missed.
      this.link.resume();
    }
    this.render();
  }

  private print(orderIds: readonly string[]): void {
    const now = Date.now();
    const orders = orderIds.flatMap((id) => this.board.tickets[id]?.order ?? []);
    // After this render, so a print dialog never holds up the board.
    setTimeout(() => this.printer.print(orders.map((o) => printJob(o, this.board.merchant, now))), 0);
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

  private handleForm(e: Event): void {
    const action = formAction(e);
    if (!action) return;
    e.preventDefault();
    if (e.target instanceof HTMLFormElement) e.target.reset();
    this.perform(action);
  }

  /** Tab (or a screen reader) moved keyboard focus onto a card: the bump-bar cursor follows. */
  private handleFocusIn(e: FocusEvent): void {
    // A tap focuses its button before the click lands: redrawing the card now would swallow the click.
    if (Date.now() - this.pointerAt < 1_000) return;
    const id = (e.target as Element).closest<HTMLElement>(".ticket")?.dataset.orderId;
    if (id && id !== this.screen.focused) this.changeScreen({ kind: "focus", orderId: id });
  }

  private handleKey(e: KeyboardEvent): void {
    const target = e.target as HTMLElement | null;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
    const pressed = pressKey(e, this.screen, this.board, Date.now());
    if (!pressed) return;
    e.preventDefault();
    this.device.gesture("key");
    if (pressed.hint) this.notify({ tone: "warn", title: pressed.hint, lines: [], ttlMs: 4_000 });
    if (pressed.action?.kind === "move-focus") this.focusWanted = true;
    if (pressed.action) this.perform(pressed.action);
    this.render();
  }

  // ---------------------------------------------------------------- the room

  private handleEnvelope(raw: unknown): void {
    const frame = parseFrame(raw);
    if (!frame) return;
    if ("reply" in frame) this.sender.reply(frame.reply);
    else {
      const env = frame.event;
      const { state, effects, synced } = applyRoomEvent(this.board, env, Date.now());
      this.setBoard(state);
      if (state.merchant) document.title = `${state.merchant.name} · Ticket Rail`;
      if (synced) this.link.synced();
      this.runEffects(effects);
    }
    this.render();
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
    const accepted = effects.flatMap((e) => (e.kind === "accepted" ? [e.orderId] : []));
    if (accepted.length > 0 && this.printer.autoPrint) this.print(accepted);
    for (const e of effects) {
      const notice = e.kind === "availability" ? availabilityNotice(e.availability, e.actor) : null;
      if (notice) this.notify(notice);
      if (notice?.tone === "error") this.device.alarm(true);
    }
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
    if (status !== "live") this.sender.linkLost();
    this.render();
  }

  // ---------------------------------------------------------------- clock and render

  private tick(): void {
    const now = Date.now();
    this.setBoard(expireLeaving(this.board, now));
    this.screen = expireNotices(this.screen, now);
    this.sender.expire(now);
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
          station: findStation(this.board.merchant, this.screen.station),
          allergens: allergenWords(this.board.merchant),
          link: this.link.status,
          downSince: this.link.downSince,
          pending: this.sender.pendingLabels(),
          kitchenPending: this.sender.kitchenPending(),
          sound: this.device.soundState,
          autoPrint: this.printer.autoPrint,
          rush: this.device.rush,
        },
        Date.now(),
      );
      syncFocus(this.dom.root, this.screen.focused, this.focusWanted);
      this.focusWanted = false;
    });
  }
}
