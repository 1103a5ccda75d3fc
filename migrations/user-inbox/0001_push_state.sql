CREATE TABLE `pushes` (
	`channel_id` text PRIMARY KEY NOT NULL,
	`in_flight_seq` integer,
	`in_flight_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`waiting_seq` integer,
	`waiting_message_id` text,
	`waiting_sender_id` text,
	`waiting_preview` text
);
