/**
 * Which URLs a subscription may POST to (CONTRACT.md, Additions v2): https only when deployed;
 * in local development also http://localhost and http://127.0.0.1; never credentials in the URL;
 * never the Worker itself (a loop that would deliver its own webhooks to itself).
 *
 * "Itself" is judged by name: the host the request came in on (and, locally, any loopback name at
 * the same port). A hostname that resolves to the Worker under another name cannot be seen from
 * inside a Worker (no DNS API), and is left to the platform's own routing.
 */
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

function isLoopback(hostname: string): boolean {
  return LOOPBACK.has(hostname) || hostname.endsWith(".localhost");
}

function portOf(url: URL): string {
  return url.port || (url.protocol === "https:" ? "443" : "80");
}

/** Null if `raw` may be a webhook URL for a Worker reached at `selfUrl`, else why not. */
export function webhookUrlProblem(raw: string, selfUrl: string, devMode: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "url is not an absolute URL";
  }
  if (url.username || url.password) return "a webhook URL may not carry credentials";
  const devHttp = devMode && url.protocol === "http:" && (url.hostname === "localhost" || url.hostname === "127.0.0.1");
  if (url.protocol !== "https:" && !devHttp) {
    return devMode
      ? "only https URLs (or http://localhost / http://127.0.0.1 in local development)"
      : "only https URLs";
  }
  const self = new URL(selfUrl);
  const same =
    isLoopback(url.hostname) && isLoopback(self.hostname)
      ? portOf(url) === portOf(self)
      : url.hostname === self.hostname;
  return same ? "a webhook URL may not point at this service itself" : null;
}
