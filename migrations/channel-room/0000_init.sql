CREATE TABLE `channel` (
	`id` integer PRIMARY KEY NOT NULL,
	`channel_id` text NOT NULL,
	`kind` text NOT NULL,
	`name` text,
	`owner_id` text,
	`created_at` integer NOT NULL,
	`head_seq` integer NOT NULL,
	`meta_rev` integer NOT NULL,
	`d1_rev` integer NOT NULL,
	`blocked_by` text DEFAULT '[]' NOT NULL
);
--> statement-breakpoint
CREATE TABLE `members` (
	`user_id` text PRIMARY KEY NOT NULL,
	`role` text NOT NULL,
	`joined_at` integer NOT NULL,
	`joined_seq` integer NOT NULL,
	`read_seq` integer NOT NULL,
	`delivered_seq` integer DEFAULT 0 NOT NULL,
	`synced_seq` integer NOT NULL,
	`rev` integer NOT NULL,
	`synced_rev` integer NOT NULL,
	`removed_at` integer
);
--> statement-breakpoint
CREATE TABLE `messages` (
	`seq` integer PRIMARY KEY NOT NULL,
	`id` text NOT NULL,
	`sender_id` text NOT NULL,
	`client_msg_id` text NOT NULL,
	`text` text NOT NULL,
	`ts` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_client_msg` ON `messages` (`sender_id`,`client_msg_id`);--> statement-breakpoint
CREATE INDEX `messages_ts` ON `messages` (`ts`);