/**
 * `npm run simulate` — a Friday rush against a running dev server (`npm run dev`): realistic
 * orders through the REST API with dev customer tokens, one customer cancelling, drivers
 * assigned, arriving and picking up. The same code runs behind the board's "Simulate rush".
 *
 *   npm run simulate -- [--url http://localhost:8787] [--merchant demo] [--orders 12] [--seconds 20]
 */
import { parseArgs } from "node:util";
import { devModeAvailable, type ApiClient } from "./src/api.ts";
import { runRush } from "./src/rush.ts";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: "http://localhost:8787" },
    merchant: { type: "string", default: "demo" },
    orders: { type: "string", default: "12" },
    seconds: { type: "string", default: "20" },
  },
});

const client: ApiClient = { baseUrl: values.url.replace(/\/$/, ""), fetch: (input, init) => fetch(input, init) };
if (!(await devModeAvailable(client))) {
  console.error(
    `No dev server with dev tokens at ${client.baseUrl}. Start one with \`npm run dev\` (DEV_MODE comes from .dev.vars).`,
  );
  process.exit(1);
}
console.log(
  `Rush on merchant "${values.merchant}" at ${client.baseUrl}: open ${client.baseUrl}/ and sign in to watch.`,
);
const summary = await runRush({
  client,
  merchantId: values.merchant,
  orders: Number(values.orders),
  spreadMs: Number(values.seconds) * 1000,
  log: (line) => console.log(`  ${line}`),
});
console.log(
  `Done: ${summary.placed.length} orders placed, ${summary.cancelled.length} cancelled by customers, ${summary.driverMoves} driver moves, ${summary.errors.length} errors.`,
);
process.exit(summary.placed.length > 0 ? 0 : 1);
