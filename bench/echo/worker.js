/**
 * The floor: a Worker that forwards a WebSocket upgrade to one Durable Object, which accepts it
 * with the same Hibernation API the product's rooms use and sends every message straight back.
 * No auth, no JSON, no storage: whatever this costs, the product cannot beat.
 *
 * `/ws?write=1` is the floor of a change: the same echo, after writing one row to the object's
 * SQLite storage. The runtime holds the reply until that write is durable (the output gate), as
 * it holds a room's broadcast until its change is: what any action that must not be lost costs.
 */
import { DurableObject } from "cloudflare:workers";

export class EchoRoom extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS last (id INTEGER PRIMARY KEY, body TEXT)");
  }

  async fetch(request) {
    const { 0: client, 1: server } = new WebSocketPair();
    const write = new URL(request.url).searchParams.has("write");
    this.ctx.acceptWebSocket(server, [write ? "write" : "echo"]);
    return new Response(null, { status: 101, webSocket: client });
  }

  webSocketMessage(ws, message) {
    if (this.ctx.getTags(ws).includes("write")) {
      this.ctx.storage.sql.exec("INSERT OR REPLACE INTO last (id, body) VALUES (1, ?)", message);
    }
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
