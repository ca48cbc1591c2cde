/**
 * Entry point of the dashboard bundle. `/track/:orderId` is the customer's tracking page;
 * everything else is the kitchen display (the Worker serves index.html for any path).
 */
import { OrderSchema } from "../../schema/index.ts";
import { ApiError, apiCall, browserClient, devModeAvailable, devToken } from "./api.ts";
import { h } from "./dom.ts";
import { KitchenDisplay } from "./kds/display.ts";
import { clearSession, loadSession, readClaims, saveSession, type Session } from "./session.ts";
import { showSignIn } from "./signin.ts";
import { fetchOrder, TrackingPage } from "./track.ts";

const app = document.getElementById("app")!;
const devMode = devModeAvailable(browserClient());

async function kitchen(message?: string): Promise<void> {
  const session = loadSession("kitchen", Date.now());
  if (session?.claims.role !== "merchant") {
    document.title = "Ticket Rail — sign in";
    showSignIn({
      mount: app,
      devMode: await devMode,
      role: "merchant",
      title: "Kitchen display",
      subtitle: "Sign in to this screen to see and run your kitchen's orders.",
      ...(message ? { message } : {}),
      onSession: (s) => {
        saveSession("kitchen", s);
        void kitchen();
      },
    });
    return;
  }
  const merchantId = session.claims.merchantId ?? "";
  try {
    // One REST read first: an expired or foreign token is told apart here, clearly, instead
    // of as a socket that keeps failing to open.
    await apiCall(browserClient(), "GET", `/api/merchants/${encodeURIComponent(merchantId)}/orders?limit=1`, {
      token: session.token,
    });
  } catch (err) {
    if (err instanceof ApiError && err.code !== "NETWORK") {
      clearSession("kitchen");
      return kitchen(err.code === "NOT_FOUND" ? `There is no merchant “${merchantId}”.` : `Signed out: ${err.message}`);
    }
    // Network trouble: open the board anyway; it shows it is offline and keeps trying.
  }
  document.title = `Ticket Rail — ${merchantId}`;
  const display = new KitchenDisplay(app, session, {
    devMode: await devMode,
    onSignOut: () => {
      display.destroy();
      clearSession("kitchen");
      void kitchen();
    },
    onUnauthorized: () => {
      display.destroy();
      clearSession("kitchen");
      void kitchen("This screen's sign-in is no longer valid. Please sign in again.");
    },
  });
}

async function tracking(orderId: string, message?: string): Promise<void> {
  document.title = "Ticket Rail — your order";
  // A customer app can link here with the token in the fragment (never sent to any server).
  const fromLink = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromLink) {
    const claims = readClaims(fromLink);
    if (claims) saveSession("customer", { token: fromLink, claims });
    history.replaceState(null, "", location.pathname);
  }
  const session: Session | null = loadSession("customer", Date.now());
  if (!session) {
    const dev = await devMode;
    showSignIn({
      mount: app,
      devMode: dev,
      ...(dev ? await customerOf(orderId) : {}),
      role: "customer",
      title: "Track your order",
      subtitle: "Sign in to follow your order live.",
      ...(message ? { message } : {}),
      onSession: (s) => {
        saveSession("customer", s);
        void tracking(orderId);
      },
    });
    return;
  }
  const first = await fetchOrder(orderId, session.token);
  if (!first.ok) {
    if (first.status === 401 || first.status === 403) {
      clearSession("customer");
      return tracking(orderId, first.message);
    }
    app.replaceChildren(
      h(
        "main",
        { class: "signin" },
        h(
          "div",
          { class: "signin-card" },
          h("h1", {}, "Order not available"),
          h("p", { class: "signin-error" }, first.message),
        ),
      ),
    );
    return;
  }
  const page = new TrackingPage(app, orderId, session, first.order, () => {
    page.destroy();
    clearSession("customer");
    void tracking(orderId);
  });
}

/**
 * Local development only: who placed this order, so the demo's tracking page is one click
 * (looked up with a dev dispatch token; a deployed Worker has no dev tokens).
 */
async function customerOf(orderId: string): Promise<{ prefill?: string }> {
  try {
    const token = await devToken(browserClient(), { role: "dispatch", sub: "dev-tracking-lookup" });
    const order = await apiCall(browserClient(), "GET", `/api/orders/${encodeURIComponent(orderId)}`, {
      token,
      schema: OrderSchema,
    });
    return { prefill: order.customerId };
  } catch {
    return {};
  }
}

const trackMatch = /^\/track\/([^/]+)\/?$/.exec(location.pathname);
if (trackMatch) void tracking(decodeURIComponent(trackMatch[1]!));
else void kitchen();
