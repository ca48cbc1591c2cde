/**
 * This device's side of the kitchen display: sounds (a chime per new order, an alarm that
 * repeats while an order cancelled mid-cook is unacknowledged), the dev rush, and the device
 * actions — sound, mute, rush, sign-out (and printing, when it comes).
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

  perform(action: DeviceAction): void {
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

  get soundState(): "off" | "on" | "muted" {
    return !this.sound.enabled ? "off" : this.sound.muted ? "muted" : "on";
  }

  /** A key press is a user gesture: the first one may unlock sound. */
  gesture(): void {
    if (!this.sound.enabled && !this.sound.muted) void this.sound.enable().then(() => this.opts.changed());
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

  private async toggleSound(): Promise<void> {
    if (!this.sound.enabled) {
      await this.sound.enable();
      this.sound.setMuted(false);
    } else {
      this.sound.setMuted(!this.sound.muted);
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
