CREATE TABLE `attachments` (
	`id` text PRIMARY KEY NOT NULL,
	`uploader_id` text NOT NULL,
	`state` text NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`size` integer NOT NULL,
	`width` integer,
	`height` integer,
	`preview_width` integer,
	`preview_height` integer,
	`crc32` integer,
	`created_at` integer NOT NULL,
	`seq` integer
);
--> statement-breakpoint
CREATE INDEX `attachments_seq` ON `attachments` (`seq`);--> statement-breakpoint
ALTER TABLE `messages` ADD `attachments` text;