/**
 * WebhookRegistry: the webhook subscriptions, one registry for the whole service (a singleton).
 *
 * Why one: the question every merchant room asks is "which subscriptions cover me?", across all
 * owners, and one registry answers it with one indexed read; rooms cache the answer (a short TTL)
 * so the registry sees one read per busy room per TTL, not one per event. Subscriptions are few
 * (a handful per platform) and change rarely. Rooms report delivery attempts here in batches (one
 * call per delivery pass) for the owners' deliveries log. Secrets live only here: rooms hold them
 * in memory, never in their storage.
 *
 * Owners are the callers who created a subscription (role + sub); another caller is told 404, as
 * if the subscription did not exist.
 */
import { DurableObject } from "cloudflare:workers";
import { countStorageWrites } from "./rows-written.ts";
import type {
  CreateWebhookBody,
  CreatedWebhook,
  RotateSecretResponse,
  Webhook,
  WebhookDelivery,
  WebhookEventName,
} from "../../schema/index.ts";
import { IDEMPOTENCY_TTL_MS } from "../domain/idempotency.ts";
import { newSecret } from "../webhooks/signing.ts";
import { fingerprintOf } from "./merchant/writer.ts";
import { DeliveriesLog } from "./webhooks/deliveries-log.ts";
import type { DeliveryReport, Owner, RoomSubscription } from "./webhooks/protocol.ts";
import { openRegistryTables } from "./webhooks/registry-tables.ts";

/** A rotated-out secret signs too for this long (CONTRACT.md). */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;
/** The name of the one registry. */
export const REGISTRY_NAME = "registry";

export type Outcome<T> = { ok: true; value: T } | { ok: false; code: "NOT_FOUND" | "IDEMPOTENCY_MISMATCH" };

type SubscriptionRow = {
  id: string;
  url: string;
  events: string | null;
  merchant_ids: string | null;
  created_ms: number;
};

const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function newWebhookId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `wh_${Array.from(bytes, (b) => ALPHANUMERIC[b % ALPHANUMERIC.length]).join("")}`;
}

const notFound: Outcome<never> = { ok: false, code: "NOT_FOUND" };

export class WebhookRegistry extends DurableObject<Env> {
  /** The registry's clock; tests move it to end a rotation's overlap. */
  clock: () => number = () => Date.now();
  private readonly sql: SqlStorage;
  private readonly log: DeliveriesLog;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    countStorageWrites(env, ctx.storage, "webhookRegistry");
    openRegistryTables(ctx.storage);
    this.sql = ctx.storage.sql;
    this.log = new DeliveriesLog(this.sql);
  }

  /** Creates a subscription; the answer is the only place its secret is ever shown. */
  create(owner: Owner, body: CreateWebhookBody, key?: string): Outcome<CreatedWebhook> {
    return this.once(owner, key, { op: "create", body }, () => {
      const id = newWebhookId();
      const now = this.clock();
      const secret = newSecret();
      this.ctx.storage.transactionSync(() => {
        this.sql.exec(
          `INSERT INTO subscriptions (id, owner, url, events, merchant_ids, created_ms) VALUES (?, ?, ?, ?, ?, ?)`,
          id,
          owner,
          body.url,
          body.events ? JSON.stringify(body.events) : null,
          body.merchantIds ? JSON.stringify(body.merchantIds) : null,
          now,
        );
        for (const merchantId of body.merchantIds ?? ["*"]) {
          this.sql.exec(`INSERT INTO coverage (merchant_id, subscription_id) VALUES (?, ?)`, merchantId, id);
        }
        this.sql.exec(`INSERT INTO secrets (subscription_id, secret, created_ms) VALUES (?, ?, ?)`, id, secret, now);
      });
      return { ok: true, value: { ...this.view(this.row(owner, id)!), secret } };
    });
  }

  list(owner: Owner): Webhook[] {
    return this.sql
      .exec<SubscriptionRow>(
        `SELECT id, url, events, merchant_ids, created_ms FROM subscriptions WHERE owner = ? ORDER BY created_ms, id`,
        owner,
      )
      .toArray()
      .map((row) => this.view(row));
  }

  get(owner: Owner, id: string): Webhook | null {
    const row = this.row(owner, id);
    return row ? this.view(row) : null;
  }

  remove(owner: Owner, id: string, key?: string): Outcome<{ id: string; deleted: true }> {
    return this.once(owner, key, { op: "delete", id }, () => {
      if (!this.row(owner, id)) return notFound;
      this.ctx.storage.transactionSync(() => {
        this.sql.exec(`DELETE FROM subscriptions WHERE id = ?`, id);
        this.sql.exec(`DELETE FROM coverage WHERE subscription_id = ?`, id);
        this.sql.exec(`DELETE FROM secrets WHERE subscription_id = ?`, id);
        this.log.forget(id);
      });
      return { ok: true, value: { id, deleted: true } };
    });
  }

  /** A new secret signs from now on; the current one keeps signing beside it for 24 h. */
  rotateSecret(owner: Owner, id: string, key?: string): Outcome<RotateSecretResponse> {
    return this.once(owner, key, { op: "rotate", id }, () => {
      if (!this.row(owner, id)) return notFound;
      const now = this.clock();
      const secret = newSecret();
      const expires = now + ROTATION_OVERLAP_MS;
      this.ctx.storage.transactionSync(() => {
        this.sql.exec(`DELETE FROM secrets WHERE subscription_id = ? AND expires_ms <= ?`, id, now);
        this.sql.exec(
          `UPDATE secrets SET expires_ms = ? WHERE subscription_id = ? AND expires_ms IS NULL`,
          expires,
          id,
        );
        this.sql.exec(`INSERT INTO secrets (subscription_id, secret, created_ms) VALUES (?, ?, ?)`, id, secret, now);
      });
      return { ok: true, value: { secret, previousSecretExpiresAt: new Date(expires).toISOString() } };
    });
  }

  deliveries(owner: Owner, id: string, limit: number): WebhookDelivery[] | null {
    return this.row(owner, id) ? this.log.list(id, limit) : null;
  }

  /** Whether the owner's subscription covers the merchant (null: no such subscription of theirs). */
  covers(owner: Owner, id: string, merchantId: string): boolean | null {
    if (!this.row(owner, id)) return null;
    return (
      this.sql
        .exec(`SELECT 1 FROM coverage WHERE subscription_id = ? AND merchant_id IN (?, '*')`, id, merchantId)
        .toArray().length > 0
    );
  }

  // ---------------------------------------------------------------- merchant rooms

  /** The subscriptions covering a merchant, with the secrets that sign now (a room's question). */
  subscriptionsFor(merchantId: string): RoomSubscription[] {
    const now = this.clock();
    return this.sql
      .exec<SubscriptionRow>(
        `SELECT s.id, s.url, s.events, s.merchant_ids, s.created_ms FROM coverage c
         JOIN subscriptions s ON s.id = c.subscription_id WHERE c.merchant_id IN (?, '*') ORDER BY s.created_ms`,
        merchantId,
      )
      .toArray()
      .map((row) => ({
        id: row.id,
        url: row.url,
        events: row.events === null ? null : (JSON.parse(row.events) as string[]),
        createdAtMs: row.created_ms,
        secrets: this.sql
          .exec<{ secret: string }>(
            `SELECT secret FROM secrets WHERE subscription_id = ? AND (expires_ms IS NULL OR expires_ms > ?)
             ORDER BY created_ms DESC`,
            row.id,
            now,
          )
          .toArray()
          .map((s) => s.secret),
      }));
  }

  /** A room's delivery attempts, one batch per delivery pass. */
  record(reports: DeliveryReport[]): void {
    this.log.record(reports, this.clock());
  }

  // ---------------------------------------------------------------- internals

  private row(owner: Owner, id: string): SubscriptionRow | null {
    return (
      this.sql
        .exec<SubscriptionRow>(
          `SELECT id, url, events, merchant_ids, created_ms FROM subscriptions WHERE id = ? AND owner = ?`,
          id,
          owner,
        )
        .toArray()[0] ?? null
    );
  }

  private view(row: SubscriptionRow): Webhook {
    const failing = this.log.failing(row.id);
    return {
      id: row.id,
      url: row.url,
      events: row.events === null ? null : (JSON.parse(row.events) as WebhookEventName[]),
      merchantIds: row.merchant_ids === null ? null : (JSON.parse(row.merchant_ids) as string[]),
      createdAt: new Date(row.created_ms).toISOString(),
      status: failing.length > 0 ? "failing" : "active",
      failing,
    };
  }

  /**
   * Idempotency-Key (CONTRACT.md "REST"): a repeat with the same request answers the first
   * result and changes nothing; the same key with another request is a mismatch.
   */
  private once<T>(owner: Owner, key: string | undefined, request: unknown, run: () => Outcome<T>): Outcome<T> {
    if (key === undefined) return run();
    const now = this.clock();
    this.sql.exec(`DELETE FROM idempotency WHERE created_ms < ?`, now - IDEMPOTENCY_TTL_MS);
    const fingerprint = fingerprintOf(request);
    const prior = this.sql
      .exec<{ fingerprint: string; result: string }>(
        `SELECT fingerprint, result FROM idempotency WHERE owner = ? AND key = ?`,
        owner,
        key,
      )
      .toArray()[0];
    if (prior)
      return prior.fingerprint === fingerprint ? JSON.parse(prior.result) : { ok: false, code: "IDEMPOTENCY_MISMATCH" };
    const result = run();
    this.sql.exec(
      `INSERT INTO idempotency (owner, key, fingerprint, result, created_ms) VALUES (?, ?, ?, ?, ?)`,
      owner,
      key,
      fingerprint,
      JSON.stringify(result),
      now,
    );
    return result;
  }
}
