import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { historyShards } from "../db/shards.ts";

// Setup files run before each test file; applyD1Migrations skips what is already applied. Every
// history shard gets the same migrations, as `npm run dev` and a deploy give them.
const migrations = (env as unknown as { TEST_MIGRATIONS: D1Migration[] }).TEST_MIGRATIONS;
for (const db of historyShards(env)) await applyD1Migrations(db, migrations);
