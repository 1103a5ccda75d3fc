ALTER TABLE `channel` ADD `closed_reason` text;--> statement-breakpoint
ALTER TABLE `members` ADD `removed_seq` integer;