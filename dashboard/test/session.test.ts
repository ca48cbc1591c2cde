/**
 * The pure parts of a screen's session: when a paired screen renews its token, and which tokens a
 * tracking link may bring (a platform's own, whose claim names may not be the contract's).
 */
import { describe, expect, it } from "vitest";
import { renewMarginMs } from "../src/device-session.ts";
import { linkClaims, readClaims } from "../src/session.ts";

const jwt = (payload: object) =>
  `${Buffer.from('{"alg":"RS256","kid":"k"}').toString("base64url")}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.sig`;

describe("renewMarginMs", () => {
  it("renews a fifth of the life before expiry, at least a minute, half the life for short tokens", () => {
    expect(renewMarginMs(15 * 60_000)).toBe(3 * 60_000);
    expect(renewMarginMs(60 * 60_000)).toBe(12 * 60_000);
    expect(renewMarginMs(3 * 60_000)).toBe(60_000);
    expect(renewMarginMs(20_000)).toBe(10_000);
  });
});

describe("linkClaims", () => {
  it("reads the contract's claims, and keeps a platform token with other claim names by its expiry", () => {
    const exp = Math.floor(Date.now() / 1000) + 600;
    const ours = jwt({ role: "customer", sub: "alice", exp });
    expect(linkClaims(ours)).toEqual(readClaims(ours));
    const theirs = jwt({ "https://platform.test/role": "eater", uid: "auth0|1", exp });
    expect(readClaims(theirs)).toBeNull();
    expect(linkClaims(theirs)).toMatchObject({ exp });
    expect(linkClaims(jwt({ uid: "x" }))).toBeNull();
    expect(linkClaims("not a token")).toBeNull();
  });
});
