/**
 * Entry point of the dashboard bundle. `/track/:orderId` is the customer's tracking page;
 * everything else is the kitchen display (the Worker serves index.html for any path).
 */
import { OrderSchema } from "../../schema/index.ts";
import { ApiError, apiCall, browserClient, devModeAvailable, devToken } from "./api.ts";
import { h } from "./dom.ts";
import { KitchenDisplay } from "./kds/display.ts";
import { DeviceRenewal } from "./device-session.ts";
import { clearSession, isExpired, linkClaims, loadSession, saveSession, type Session } from "./session.ts";
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
  // A paired screen renews its own sign-in; it is signed out only when the server says so.
  let display: KitchenDisplay | null = null;
  let gone = false;
  const leave = (message?: string) => {
    if (gone) return;
    gone = true;
    renewal?.stop();
    display?.destroy();
    clearSession("kitchen");
    void kitchen(message);
  };
  const renewal = session.device ? new DeviceRenewal(session, { onSignedOut: leave }) : null;
  if (renewal && isExpired(session.claims, Date.now())) await renewal.renew();
  if (gone) return;
  const merchantId = session.claims.merchantId ?? "";
  try {
    // One REST read first: an expired or foreign token is told apart here, clearly, instead
    // of as a socket that keeps failing to open.
    await boardCheck(merchantId, session.token).catch(async (err: unknown) => {
      if (!(renewal && err instanceof ApiError && err.status === 401)) throw err;
      if ((await renewal.renew()) === "renewed") await boardCheck(merchantId, session.token);
    });
  } catch (err) {
    if (err instanceof ApiError && err.code !== "NETWORK") {
      return leave(err.code === "NOT_FOUND" ? `There is no merchant “${merchantId}”.` : `Signed out: ${err.message}`);
    }
    // Network trouble: open the board anyway; it shows it is offline and keeps trying.
  }
  if (gone) return;
  document.title = `Ticket Rail — ${merchantId}`;
  display = new KitchenDisplay(app, session, {
    devMode: await devMode,
    onSignOut: () => leave(),
    onUnauthorized: () => {
      // A paired screen's token may just be old: renew it (the socket reconnects with the new
      // one by itself). Only a refused renewal signs it out.
      if (renewal) void renewal.renew();
      else leave("This screen's sign-in is no longer valid. Please sign in again.");
    },
  });
  renewal?.start();
}

function boardCheck(merchantId: string, token: string): Promise<unknown> {
  return apiCall(browserClient(), "GET", `/api/merchants/${encodeURIComponent(merchantId)}/orders?limit=1`, { token });
}

async function tracking(orderId: string, message?: string): Promise<void> {
  document.title = "Ticket Rail — your order";
  // Production sign-in: the platform's customer app links here with the customer's token (its
  // own identity provider's, AUTH_JWKS_URL, or one Ticket Rail minted) in the fragment, which no
  // browser sends to any server; it is stored and taken out of the address bar at once.
  const fromLink = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromLink) {
    const claims = linkClaims(fromLink);
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
      subtitle: dev
        ? "Sign in to follow your order live."
        : "Open this page from your order's link in the app you ordered with: the link signs you in.",
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
