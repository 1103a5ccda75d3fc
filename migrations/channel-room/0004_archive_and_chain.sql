CREATE TABLE `sealed_keys` (
	`seq` integer PRIMARY KEY NOT NULL,
	`key` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `sealed_keys_key` ON `sealed_keys` (`key`);--> statement-breakpoint
CREATE TABLE `segments` (
	`first_seq` integer PRIMARY KEY NOT NULL,
	`last_seq` integer NOT NULL,
	`key` text NOT NULL,
	`bytes` integer NOT NULL,
	`checksum` text NOT NULL,
	`text_chars` integer NOT NULL,
	`prev_hash` text NOT NULL,
	`last_hash` text NOT NULL,
	`min_ts` integer NOT NULL,
	`max_ts` integer NOT NULL,
	`sealed_at` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `messages` ADD `hash` text DEFAULT '' NOT NULL;