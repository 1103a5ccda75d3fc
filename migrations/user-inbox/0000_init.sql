CREATE TABLE `channel_sockets` (
	`device_id` text NOT NULL,
	`channel_id` text NOT NULL,
	`opened_at` integer NOT NULL,
	PRIMARY KEY(`device_id`, `channel_id`)
);
--> statement-breakpoint
CREATE TABLE `channels` (
	`channel_id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`name` text,
	`head_seq` integer NOT NULL,
	`read_seq` integer NOT NULL,
	`joined_seq` integer NOT NULL,
	`last_seq` integer,
	`last_sender_id` text,
	`last_preview` text,
	`last_ts` integer,
	`updated_at` integer NOT NULL,
	`muted` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE `device_streams` (
	`device_id` text NOT NULL,
	`channel_id` text NOT NULL,
	`sent_seq` integer NOT NULL,
	PRIMARY KEY(`device_id`, `channel_id`)
);
--> statement-breakpoint
CREATE TABLE `friend_presence` (
	`user_id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`last_active_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `presence` (
	`id` integer PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`last_active_at` integer NOT NULL,
	`published_status` text NOT NULL,
	`invisible` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE `presence_watchers` (
	`channel_id` text PRIMARY KEY NOT NULL,
	`until` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `revoked_devices` (
	`device_id` text PRIMARY KEY NOT NULL,
	`revoked_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `settings` (
	`id` integer PRIMARY KEY NOT NULL,
	`hide_previews` integer DEFAULT false NOT NULL
);
--> statement-breakpoint
CREATE TABLE `used_tickets` (
	`jti` text PRIMARY KEY NOT NULL,
	`expires_at` integer NOT NULL
);
