/**
 * Keeps a signed-in kitchen screen awake (Screen Wake Lock API, where the browser has it). The
 * browser drops the lock whenever the page is hidden, so it is asked for again on return.
 */
export type WakeState = "held" | "released" | "unsupported" | "refused";

export class ScreenAwake {
  state: WakeState = "released";
  private sentinel: WakeLockSentinel | null = null;
  private stopped = false;
  private readonly onVisibility = () => {
    if (document.visibilityState === "visible" && this.state !== "held") void this.request();
  };

  start(): void {
    if (!("wakeLock" in navigator)) {
      this.state = "unsupported";
      return;
    }
    document.addEventListener("visibilitychange", this.onVisibility);
    void this.request();
  }

  stop(): void {
    this.stopped = true;
    document.removeEventListener("visibilitychange", this.onVisibility);
    void this.sentinel?.release().catch(() => {});
    this.sentinel = null;
  }

  private async request(): Promise<void> {
    try {
      const sentinel = await navigator.wakeLock.request("screen");
      if (this.stopped) {
        void sentinel.release();
        return;
      }
      this.sentinel = sentinel;
      this.state = "held";
      sentinel.addEventListener("release", () => {
        if (this.sentinel === sentinel) this.state = "released";
      });
    } catch {
      // Not allowed (hidden page, a policy, a battery saver): the screen may dim; nothing else breaks.
      this.state = "refused";
    }
  }
}
