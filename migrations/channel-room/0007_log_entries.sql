CREATE TABLE `hook_queue` (
	`seq` integer PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`target_seq` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `message_state` (
	`seq` integer PRIMARY KEY NOT NULL,
	`sender_id` text NOT NULL,
	`preview` text,
	`edit_seq` integer,
	`edit_ts` integer,
	`edit_text` text,
	`edit_seqs` text DEFAULT '[]' NOT NULL,
	`deleted_seq` integer,
	`deleted_ts` integer,
	`deleted_by` text,
	`reactions_seq` integer
);
--> statement-breakpoint
CREATE TABLE `reactions` (
	`message_seq` integer NOT NULL,
	`user_id` text NOT NULL,
	`emoji` text NOT NULL,
	`seq` integer NOT NULL,
	PRIMARY KEY(`message_seq`, `user_id`)
);
--> statement-breakpoint
ALTER TABLE `members` ADD `joined_msg_count` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `type` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `msg_count` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `reply_to` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `target_seq` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `emoji` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `digest` text;--> statement-breakpoint
ALTER TABLE `segments` ADD `last_msg_count` integer;--> statement-breakpoint
ALTER TABLE `segments` ADD `scrub` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `segments` ADD `scrub_checksum` text;