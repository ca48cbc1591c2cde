CREATE TABLE `merchants` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`accept_window_seconds` integer NOT NULL,
	`default_prep_minutes` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `order_events` (
	`order_id` text NOT NULL,
	`version` integer NOT NULL,
	`seq` integer NOT NULL,
	`event` text NOT NULL,
	`at` text NOT NULL,
	`actor_role` text NOT NULL,
	`actor_id` text NOT NULL,
	`via` text NOT NULL,
	`request_id` text,
	`order_json` text NOT NULL,
	PRIMARY KEY(`order_id`, `version`)
);
--> statement-breakpoint
CREATE TABLE `order_items` (
	`order_id` text NOT NULL,
	`position` integer NOT NULL,
	`name` text NOT NULL,
	`quantity` integer NOT NULL,
	`unit_price_cents` integer NOT NULL,
	`notes` text,
	PRIMARY KEY(`order_id`, `position`)
);
--> statement-breakpoint
CREATE TABLE `orders` (
	`id` text PRIMARY KEY NOT NULL,
	`merchant_id` text NOT NULL,
	`customer_id` text NOT NULL,
	`driver_id` text,
	`status` text NOT NULL,
	`version` integer NOT NULL,
	`total_cents` integer NOT NULL,
	`placed_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`json` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `orders_by_merchant` ON `orders` (`merchant_id`,`placed_at`,`id`);--> statement-breakpoint
CREATE INDEX `orders_by_customer` ON `orders` (`customer_id`,`placed_at`);--> statement-breakpoint
CREATE INDEX `orders_by_status` ON `orders` (`status`);