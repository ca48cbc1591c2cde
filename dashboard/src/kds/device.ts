/**
 * This device's side of the kitchen display: sounds (a chime per new order, an alarm that
 * repeats while an order cancelled mid-cook is unacknowledged), the dev rush, and the device
 * actions — sound, mute, rush, sign-out (printing needs the board: display.ts runs it).
 */
import { browserClient } from "../api.ts";
import { runRush } from "../rush.ts";
import type { DeviceAction } from "./actions.ts";
import type { NoticeDraft } from "./screen.ts";
import { KitchenSound } from "./sound.ts";

const ALARM_REPEAT_MS = 5_000;

export interface DeviceOptions {
  devMode: boolean;
  merchantId: string;
  /** Something the view shows changed. */
  changed: () => void;
  notify: (notice: NoticeDraft) => void;
  signOut: () => void;
}

export class KitchenDevice {
  private readonly sound = new KitchenSound();
  private lastAlarm = 0;
  rush: { available: boolean; running: boolean; placed: number };

  constructor(private readonly opts: DeviceOptions) {
    this.rush = { available: opts.devMode, running: false, placed: 0 };
  }

  perform(action: Extract<DeviceAction, { kind: "sound" | "mute" | "rush" | "sign-out" }>): void {
    switch (action.kind) {
      case "sound":
        void this.toggleSound();
        break;
      case "mute":
        this.sound.setMuted(!this.sound.muted);
        break;
      case "rush":
        void this.startRush();
        break;
      case "sign-out":
        this.opts.signOut();
        return;
    }
    this.opts.changed();
  }

  /** `asleep`: this device chose sound, and the browser waits for a first touch or key to play it. */
  get soundState(): "off" | "on" | "muted" | "asleep" {
    if (this.sound.muted) return this.sound.enabled || this.sound.wanted ? "muted" : "off";
    if (this.sound.enabled) return "on";
    return this.sound.wanted ? "asleep" : "off";
  }

  /** A key press or a touch is a user gesture: it wakes the sound this device chose (or a key unlocks it). */
  gesture(kind: "key" | "touch"): void {
    if (this.sound.enabled) return;
    if (this.sound.wanted) void this.sound.wake().then(() => this.opts.changed());
    else if (kind === "key" && !this.sound.muted) void this.sound.enable().then(() => this.opts.changed());
  }

  newOrder(): void {
    this.sound.newOrder();
  }

  /** Sounds the alarm, at most every ALARM_REPEAT_MS unless `now` (a fresh cancellation). */
  alarm(now = false): void {
    const at = Date.now();
    if (!now && at - this.lastAlarm < ALARM_REPEAT_MS) return;
    this.lastAlarm = at;
    this.sound.alarm();
  }

  /** The sound button: on (a click is the gesture audio needs), muted, back on. */
  private async toggleSound(): Promise<void> {
    if (this.sound.muted) {
      this.sound.setMuted(false);
      if (!this.sound.enabled) await this.sound.enable();
    } else if (!this.sound.enabled) {
      await this.sound.enable();
    } else {
      this.sound.setMuted(true);
    }
    this.opts.changed();
  }

  private async startRush(): Promise<void> {
    if (this.rush.running) return;
    this.rush = { ...this.rush, running: true, placed: 0 };
    this.opts.changed();
    const summary = await runRush({
      client: browserClient(),
      merchantId: this.opts.merchantId,
      orders: 12,
      log: (line) => {
        if (line.startsWith("placed")) this.rush.placed++;
        console.info(`[rush] ${line}`);
        this.opts.changed();
      },
    });
    this.rush = { ...this.rush, running: false };
    this.opts.notify({
      tone: summary.errors.length ? "warn" : "ok",
      title: `Rush done: ${summary.placed.length} orders, ${summary.cancelled.length} cancelled by customers, ${summary.driverMoves} driver moves`,
      lines: summary.errors.slice(0, 3).map((text) => ({ ok: false, text })),
      ttlMs: 15_000,
    });
  }
}
