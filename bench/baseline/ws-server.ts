/**
 * Baseline (c): what a team would hand-roll instead of the rooms. One Node process, `ws`, all in
 * memory: POST /orders builds the order and broadcasts an ORDER_CREATED envelope of the same
 * shape as the product's to every socket on /ws. No auth, no validation, no persistence, no
 * outbox. Forked by bench/run.ts as a server process, separate from the load processes.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import { WebSocketServer } from "ws";

type Item = { name: string; quantity: number; unitPriceCents: number };

const port = Number(process.argv[2]);
const epoch = randomUUID();
let seq = 0;
const orders = new Map<string, unknown>();

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    return;
  }
  if (req.method !== "POST" || req.url !== "/orders") {
    res.writeHead(404).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString()) as { merchantId: string; items: Item[] };
    const at = new Date().toISOString();
    const order = {
      id: `${body.merchantId}.${randomUUID().replace(/-/g, "").slice(0, 16)}`,
      merchantId: body.merchantId,
      customerId: "anonymous",
      status: "PLACED",
      items: body.items,
      totalCents: body.items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0),
      version: 1,
      placedAt: at,
      acceptBy: new Date(Date.now() + 600_000).toISOString(),
      updatedAt: at,
    };
    orders.set(order.id, order);
    const requestId = req.headers["idempotency-key"];
    const envelope = JSON.stringify({
      event: "ORDER_CREATED",
      seq: ++seq,
      ...(requestId ? { requestId } : {}),
      at,
      payload: { order, actor: { role: "customer", id: "anonymous" } },
    });
    for (const ws of wss.clients) ws.send(envelope);
    res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify(order));
  });
});

const wss = new WebSocketServer({ server, path: "/ws", perMessageDeflate: false });
wss.on("connection", (ws) => {
  ws.send(JSON.stringify({ event: "SNAPSHOT", seq, at: new Date().toISOString(), payload: { epoch, orders: [] } }));
});

server.listen(port, "127.0.0.1", () => process.send?.({ ready: true }));
process.on("disconnect", () => process.exit(0));
