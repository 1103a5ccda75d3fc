import journal from './meta/_journal.json';
import m0000 from './0000_init.sql';
import m0001 from './0001_drop_messages_ts.sql';
import m0002 from './0002_dm_closed_reason_and_removed_seq.sql';
import m0003 from './0003_member_blocks.sql';
import m0004 from './0004_archive_and_chain.sql';
import m0005 from './0005_attachments.sql';
import m0006 from './0006_search_index.sql';
import m0007 from './0007_log_entries.sql';

  export default {
    journal,
    migrations: {
      m0000,
m0001,
m0002,
m0003,
m0004,
m0005,
m0006,
m0007
    }
  }
  