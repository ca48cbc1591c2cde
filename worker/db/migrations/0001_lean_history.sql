DROP TABLE `order_events`;--> statement-breakpoint
DROP TABLE `order_items`;--> statement-breakpoint
DROP INDEX `orders_by_status`;--> statement-breakpoint
DROP INDEX `orders_by_merchant`;--> statement-breakpoint
ALTER TABLE `orders` ADD `external_id` text;--> statement-breakpoint
ALTER TABLE `orders` ADD `item_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `orders_by_merchant` ON `orders` (`merchant_id`,`placed_at`);--> statement-breakpoint
ALTER TABLE `orders` DROP COLUMN `json`;