CREATE INDEX `push_failures_failed_at` ON `push_failures` (`failed_at`);--> statement-breakpoint
CREATE INDEX `push_sent_sent_at` ON `push_sent` (`sent_at`);