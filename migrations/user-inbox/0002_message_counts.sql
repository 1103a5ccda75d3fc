ALTER TABLE `channels` ADD `last_edited` integer;--> statement-breakpoint
ALTER TABLE `channels` ADD `last_deleted` integer;--> statement-breakpoint
ALTER TABLE `channels` ADD `head_msg_count` integer;--> statement-breakpoint
ALTER TABLE `channels` ADD `read_msg_count` integer;--> statement-breakpoint
ALTER TABLE `channels` ADD `joined_msg_count` integer;