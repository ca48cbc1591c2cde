/**
 * A second kitchen for the screenshots, set up for the kitchen operations: three stations, an
 * 86 list, orders cooking with some items already bumped at their station, allergy notes, and
 * two scheduled orders waiting in the strip (one still to accept).
 */
import { apiCall } from "../src/api.ts";
import type { Order, OrderItem } from "../../schema/index.ts";
import { client, merchantPost, newMerchantWithId, placeOrder, placeOrderWith, token, uniqueId } from "./helpers.ts";

export interface Osteria {
  merchantId: string;
  cooking: Order[];
  scheduled: Order[];
}

const item = (name: string, quantity: number, unitPriceCents: number, notes?: string): OrderItem => ({
  name,
  quantity,
  unitPriceCents,
  ...(notes ? { notes } : {}),
});

export async function osteria(): Promise<Osteria> {
  const merchantId = process.env.TICKET_RAIL_E2E_URL ? uniqueId("osteria") : "osteria";
  await newMerchantWithId(merchantId, "Osteria del Porto", {
    stations: [
      { id: "grill", name: "Grill", match: ["*burger*", "steak*", "*skewer*"] },
      { id: "fryer", name: "Fryer", match: ["*fries*", "*wings*", "calamari*"] },
      { id: "bar", name: "Bar", match: ["lemonade", "cola", "*spritz*"] },
    ],
  });
  const cooking = [
    await placeOrder(merchantId, "bruno", [
      item("Smash burger", 2, 1200, "one without cheese — dairy allergy"),
      item("Fries", 2, 450),
      item("Cola", 2, 300),
    ]),
    await placeOrder(merchantId, "carla", [
      item("Steak frites", 1, 2400, "medium rare"),
      item("Aperol spritz", 2, 800),
    ]),
    await placeOrder(merchantId, "dario", [
      item("Chicken skewers", 3, 900, "no peanut sauce, peanut allergy"),
      item("Calamari fritti", 1, 1100),
    ]),
    await placeOrder(merchantId, "elsa", [item("Smash burger", 1, 1200), item("Chicken wings (8)", 1, 1050)]),
  ];
  for (const [i, o] of cooking.entries())
    await merchantPost(merchantId, o.id, "accept", { prepMinutes: [12, 18, 15, 20][i] });
  await merchantPost(merchantId, cooking[0]!.id, "preparing");
  await merchantPost(merchantId, cooking[0]!.id, "items/1/done", { done: true });
  await merchantPost(merchantId, cooking[2]!.id, "items/0/done", { done: true });
  await merchantPost(merchantId, cooking[3]!.id, "adjust", {
    changes: [{ index: 1, quantity: 0 }],
    reason: "Item ran out",
  });
  await placeOrder(merchantId, "fabio", [item("Smash burger", 2, 1200), item("Lemonade", 2, 350)], "Gluten-free buns");
  const tomorrow = new Date();
  tomorrow.setDate(tomorrow.getDate() + 1);
  tomorrow.setHours(19, 30, 0, 0);
  const scheduled = [
    await placeOrderWith(merchantId, "gina", {
      items: [item("Steak frites", 4, 2400), item("Aperol spritz", 4, 800)],
      requestedFor: new Date(Date.now() + 3 * 3_600_000).toISOString(),
      customerName: "Gina (birthday)",
    }),
    await placeOrderWith(merchantId, "hugo", {
      items: [item("Smash burger", 6, 1200), item("Fries", 6, 450)],
      requestedFor: tomorrow.toISOString(),
      notes: "Office lunch, one vegan",
    }),
  ];
  await merchantPost(merchantId, scheduled[0]!.id, "accept", { prepMinutes: 30 });
  await apiCall(client(), "PUT", `/api/merchants/${merchantId}/sold-out`, {
    token: await token.dispatch(),
    body: { items: [{ name: "Tiramisu" }, { name: "Calamari fritti" }] },
  });
  return { merchantId, cooking, scheduled };
}
