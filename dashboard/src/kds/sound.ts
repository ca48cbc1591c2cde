/**
 * Kitchen sounds with WebAudio (no audio files to load). Browsers only allow audio after a user
 * gesture, so the board shows "Enable sound" until someone taps it. Both choices are remembered
 * on this device: once sound was enabled here, a reload never asks again — audio resumes by
 * itself where the browser allows it (kiosk: `--autoplay-policy=no-user-gesture-required`), else
 * at the first touch or key anywhere.
 */

type Tone = { freq: number; ms: number; type: OscillatorType; gain: number };

const CHIME: Tone[] = [
  { freq: 880, ms: 140, type: "sine", gain: 0.35 },
  { freq: 1320, ms: 220, type: "sine", gain: 0.35 },
];

/** Harsh and repeated on purpose: an order cancelled mid-cook must not go unnoticed. */
const ALARM: Tone[] = [
  { freq: 520, ms: 180, type: "square", gain: 0.5 },
  { freq: 780, ms: 180, type: "square", gain: 0.5 },
  { freq: 520, ms: 180, type: "square", gain: 0.5 },
  { freq: 780, ms: 180, type: "square", gain: 0.5 },
];

const MUTE_KEY = "ticketRail.muted";
/** "on": sound was enabled on this device once; it is not asked for again. */
const SOUND_KEY = "ticketRail.sound";

export class KitchenSound {
  private ctx: AudioContext | null = null;
  muted: boolean;
  /** This device chose sound (remembered across reloads). */
  readonly wanted: boolean;

  constructor() {
    this.muted = localStorage.getItem(MUTE_KEY) === "1";
    this.wanted = localStorage.getItem(SOUND_KEY) === "on";
    if (this.wanted) void this.wake();
  }

  /** True once a gesture has unlocked audio. */
  get enabled(): boolean {
    return this.ctx !== null && this.ctx.state === "running";
  }

  /** Must run inside a user gesture (click / key). */
  async enable(): Promise<boolean> {
    try {
      this.ctx ??= new AudioContext();
      if (this.ctx.state !== "running") await this.ctx.resume();
      this.play(CHIME);
      if (this.enabled) localStorage.setItem(SOUND_KEY, "on");
      return this.enabled;
    } catch {
      return false;
    }
  }

  /** Resumes audio this device already chose, silently (it works where a gesture or policy allows). */
  async wake(): Promise<void> {
    try {
      this.ctx ??= new AudioContext();
      if (this.ctx.state !== "running") await this.ctx.resume();
    } catch {
      // Still waiting for a gesture.
    }
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
    localStorage.setItem(MUTE_KEY, muted ? "1" : "0");
  }

  newOrder(): void {
    this.play(CHIME);
  }

  alarm(): void {
    this.play(ALARM);
  }

  private play(tones: Tone[]): void {
    const ctx = this.ctx;
    if (!ctx || this.muted || ctx.state !== "running") return;
    let t = ctx.currentTime + 0.01;
    for (const tone of tones) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = tone.type;
      osc.frequency.value = tone.freq;
      // Short attack and release: no clicks.
      gain.gain.setValueAtTime(0, t);
      gain.gain.linearRampToValueAtTime(tone.gain, t + 0.01);
      gain.gain.setValueAtTime(tone.gain, t + tone.ms / 1000 - 0.03);
      gain.gain.linearRampToValueAtTime(0, t + tone.ms / 1000);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t);
      osc.stop(t + tone.ms / 1000 + 0.02);
      t += tone.ms / 1000 + 0.04;
    }
  }
}
