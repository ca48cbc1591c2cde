/**
 * Sign-in forms. A kitchen screen enters a pairing code from its operator (the production path:
 * the screen then renews itself). In local development (dev tokens on) a name is enough: the
 * page asks POST /api/dev/token. A token issued some other way can always be pasted.
 */
import { ApiError, browserClient, devToken, pairDevice } from "./api.ts";
import { h } from "./dom.ts";
import { idFromName, isExpired, linkClaims, readClaims, type Session } from "./session.ts";
import type { Role } from "../../schema/index.ts";

export interface SignInOptions {
  mount: HTMLElement;
  devMode: boolean;
  /** Which token this page needs. */
  role: "merchant" | "customer";
  title: string;
  subtitle: string;
  /** Shown above the forms (why we are here again: expired, refused, …). */
  message?: string;
  /** A value for the first dev field (the order's customer id on a tracking page). */
  prefill?: string;
  onSession: (session: Session) => void;
}

export function showSignIn(o: SignInOptions): void {
  const error = h("p", { class: "signin-error", role: "alert" }, o.message ?? "");
  const fail = (text: string) => {
    error.textContent = text;
  };
  const forms: HTMLElement[] = [];

  if (o.devMode) {
    const first =
      o.role === "merchant"
        ? h("input", {
            name: "merchant",
            id: "signin-merchant",
            value: localStorage.getItem("ticketRail.lastMerchant") ?? "demo",
            autocomplete: "off",
            required: true,
            pattern: "[A-Za-z0-9_\\-]{1,64}",
          })
        : h("input", {
            name: "customer",
            id: "signin-customer",
            value: o.prefill ?? localStorage.getItem("ticketRail.lastCustomer") ?? "",
            placeholder: "e.g. alice",
            autocomplete: "off",
            required: true,
            pattern: "[A-Za-z0-9_\\-]{1,64}",
          });
    const name =
      o.role === "merchant"
        ? h("input", {
            name: "staff",
            id: "signin-staff",
            placeholder: "e.g. Kim",
            autocomplete: "off",
            required: true,
            maxlength: 60,
          })
        : null;
    const submit = h(
      "button",
      { type: "submit", class: "primary", id: "signin-dev" },
      o.role === "merchant" ? "Start shift" : "Track my order",
    );
    const form = h(
      "form",
      { class: "signin-form", id: "dev-signin" },
      h("h2", {}, "Local development"),
      h("label", { for: first.id }, o.role === "merchant" ? "Merchant" : "Customer id"),
      first,
      name ? h("label", { for: name.id }, "Your name") : null,
      name,
      submit,
      h("p", { class: "hint" }, "Dev mode is on: a token is issued by POST /api/dev/token."),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      submit.disabled = true;
      void (async () => {
        try {
          const role: Role = o.role;
          const id = first.value.trim();
          const display = name?.value.trim();
          const sub = o.role === "merchant" ? idFromName(display ?? "staff") : id;
          const token = await devToken(
            browserClient(),
            o.role === "merchant" ? { role, sub, merchantId: id } : { role, sub },
          );
          const claims = readClaims(token);
          if (!claims) throw new Error("the server issued a token this page cannot read");
          localStorage.setItem(o.role === "merchant" ? "ticketRail.lastMerchant" : "ticketRail.lastCustomer", id);
          o.onSession({ token, claims, ...(display ? { name: display } : {}) });
        } catch (err) {
          fail(err instanceof ApiError ? `Could not sign in: ${err.message}` : `Could not sign in: ${String(err)}`);
          submit.disabled = false;
        }
      })();
    });
    forms.push(form);
  }

  if (o.role === "merchant") forms.push(pairingForm(o, fail));

  const tokenField = h("textarea", {
    name: "token",
    id: "signin-token",
    rows: 3,
    placeholder: "eyJhbGciOi…",
    spellcheck: "false",
  });
  const tokenForm = h(
    "form",
    { class: "signin-form", id: "token-signin" },
    h("h2", {}, o.devMode || o.role === "merchant" ? "…or paste a token" : "Sign in with a token"),
    h("label", { for: tokenField.id }, o.role === "merchant" ? "Kitchen token" : "Your order token"),
    tokenField,
    h("button", { type: "submit", class: o.devMode || o.role === "merchant" ? "secondary" : "primary" }, "Use token"),
  );
  tokenForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const token = tokenField.value.trim();
    // A customer's token may come from the platform's own sign-in, with its own claim names.
    const claims = o.role === "customer" ? linkClaims(token) : readClaims(token);
    if (!claims) return fail("That is not a Ticket Rail token.");
    if (isExpired(claims, Date.now())) return fail("That token has expired; ask for a new one.");
    if (o.role === "merchant" && claims.role !== "merchant")
      return fail("That token is not a kitchen (merchant) token.");
    o.onSession({ token, claims });
  });
  forms.push(tokenForm);

  o.mount.replaceChildren(
    h(
      "main",
      { class: "signin" },
      h(
        "div",
        { class: "signin-card" },
        h("div", { class: "signin-brand" }, h("span", { class: "logo", "aria-hidden": "true" }, "▤"), "Ticket Rail"),
        h("h1", {}, o.title),
        h("p", { class: "signin-sub" }, o.subtitle),
        error,
        ...forms,
      ),
    ),
  );
  (
    o.mount.querySelector<HTMLElement>(o.devMode ? "#signin-staff" : "#signin-code") ??
    o.mount.querySelector<HTMLElement>(o.prefill ? "#signin-dev" : "input, textarea")
  )?.focus();
}

/** "Enter pairing code": the code the operator created for this kitchen, and a name for the screen. */
function pairingForm(o: SignInOptions, fail: (text: string) => void): HTMLElement {
  const code = h("input", {
    name: "code",
    id: "signin-code",
    placeholder: "ABCD-EFGH",
    autocomplete: "off",
    autocapitalize: "characters",
    spellcheck: "false",
    required: true,
    maxlength: 32,
  });
  const name = h("input", {
    name: "device",
    id: "signin-device",
    value: localStorage.getItem("ticketRail.lastDeviceName") ?? "Kitchen screen",
    autocomplete: "off",
    required: true,
    maxlength: 60,
  });
  const submit = h("button", { type: "submit", class: o.devMode ? "secondary" : "primary", id: "signin-pair" }, "Pair");
  const form = h(
    "form",
    { class: "signin-form", id: "pair-signin" },
    h("h2", {}, o.devMode ? "…or enter a pairing code" : "Enter pairing code"),
    h("label", { for: code.id }, "Pairing code"),
    code,
    h("label", { for: name.id }, "Name of this screen"),
    name,
    submit,
    h("p", { class: "hint" }, "Your operator creates the code. It works once, for 10 minutes."),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submit.disabled = true;
    void (async () => {
      try {
        const paired = await pairDevice(browserClient(), code.value.trim(), name.value.trim());
        const claims = readClaims(paired.token);
        if (!claims) throw new Error("the server issued a token this page cannot read");
        localStorage.setItem("ticketRail.lastDeviceName", paired.device.name);
        o.onSession({
          token: paired.token,
          claims,
          name: paired.device.name,
          device: { id: paired.device.id, refreshToken: paired.refreshToken },
        });
      } catch (err) {
        fail(pairingFailure(err));
        submit.disabled = false;
      }
    })();
  });
  return form;
}

function pairingFailure(err: unknown): string {
  if (!(err instanceof ApiError)) return `Could not pair: ${String(err)}`;
  if (err.code === "UNAUTHORIZED") return "That code is wrong, used or expired. Ask for a new one.";
  if (err.code === "RATE_LIMITED") return "Too many wrong codes. Wait a few minutes, then try again.";
  if (err.code === "BAD_REQUEST") return "Type the 8-character code, and a name for this screen.";
  return `Could not pair: ${err.message}`;
}
