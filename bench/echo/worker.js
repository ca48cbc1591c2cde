/**
 * The floor: a Worker that forwards a WebSocket upgrade to one Durable Object, which accepts it
 * with the same Hibernation API the product's rooms use and sends every message straight back.
 * No auth, no JSON, no storage: whatever this costs, the product cannot beat.
 */
import { DurableObject } from "cloudflare:workers";

export class EchoRoom extends DurableObject {
  async fetch() {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  webSocketMessage(ws, message) {
    ws.send(message);
  }

  webSocketClose(ws, code, reason) {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/health") return Response.json({ ok: true });
    if (url.pathname === "/ws" && request.headers.get("Upgrade")?.toLowerCase() === "websocket") {
      return env.ECHO.get(env.ECHO.idFromName("echo")).fetch(request);
    }
    return new Response("not found", { status: 404 });
  },
};
