-- Custom SQL migration file, put your code below! --
-- The channel's full-text index (docs/architecture.md "Search"): drizzle's schema cannot declare
-- an FTS5 table. Contentless (the text stays in `messages` and the R2 segments, never twice),
-- rows deletable by rowid (contentless_delete), no positions (detail=none: terms only, the
-- smallest index); each row's rowid is the message's seq and its `terms` the words and CJK
-- unigrams and bigrams of domain/search-terms.ts.
CREATE VIRTUAL TABLE `search` USING fts5(`terms`, content='', contentless_delete=1, detail=none, tokenize='unicode61 remove_diacritics 2');
--> statement-breakpoint
-- Every message up to `indexed_through` is in the index; the indexer catches up from there.
CREATE TABLE `search_state` (`id` integer PRIMARY KEY NOT NULL, `indexed_through` integer NOT NULL);
--> statement-breakpoint
INSERT INTO `search_state` (`id`, `indexed_through`) VALUES (1, 0);
