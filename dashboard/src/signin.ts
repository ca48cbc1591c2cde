/**
 * Sign-in forms. In local development (dev tokens on) a name is enough: the page asks
 * POST /api/dev/token. Otherwise a token issued by the operator is pasted.
 */
import { ApiError, browserClient, devToken } from "./api.ts";
import { h } from "./dom.ts";
import { idFromName, isExpired, readClaims, type Session } from "./session.ts";
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
    h("h2", {}, o.devMode ? "…or paste a token" : "Sign in with a token"),
    h("label", { for: tokenField.id }, o.role === "merchant" ? "Kitchen token" : "Your order token"),
    tokenField,
    h("button", { type: "submit", class: o.devMode ? "secondary" : "primary" }, "Use token"),
  );
  tokenForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const token = tokenField.value.trim();
    const claims = readClaims(token);
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
    o.mount.querySelector<HTMLElement>("#signin-staff") ??
    o.mount.querySelector<HTMLElement>(o.prefill ? "#signin-dev" : "input, textarea")
  )?.focus();
}
