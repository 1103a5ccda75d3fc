/**
 * @module @edge-chat/client
 * The TypeScript client of edge chat, for browsers and Node 22. Start with {@link ChatClient};
 * client/README.md walks through it. The wire protocol is docs/protocol.md.
 */
export { ChainIntegrityError } from "./chain-check.ts";
export { ChatApiError, type ChatApiErrorCode } from "./chat-api-error.ts";
export { ChatClient, type ChatClientOptions } from "./chat-client.ts";
export type { Backoff } from "./chat-socket.ts";
export { type ClientStore, defaultStore, indexedDbStore, MemoryStore } from "./client-store.ts";
export { Conversation, type ConversationEvents } from "./conversation.ts";
export { type ExportEntry, ExportProgress, ExportReader } from "./export-reader.ts";
export { codePointLength, MAX_MESSAGE_CODE_POINTS } from "./message-text.ts";
export type { OutboxEntry, OutboxKind } from "./outbox.ts";
export type { UploadOptions } from "./transfers.ts";
export type {
  Ack,
  ChannelInfo,
  ChannelSearchPage,
  ChannelSummary,
  ChatEvents,
  ChatMessage,
  ConnectInfo,
  ConnectionState,
  DeviceInfo,
  EntryType,
  ErrorCode,
  FriendFrameState,
  FriendState,
  FriendsList,
  GroupPresence,
  HistoryPage,
  LastMessage,
  Me,
  MessageState,
  MessageStatus,
  Presence,
  PresenceStatus,
  PublicUser,
  PushSubscriptionBody,
  Reaction,
  Receipts,
  ReplyQuote,
  SearchHit,
  SearchPage,
  ServerFrame,
  ServerFrameOf,
  Session,
  SessionTokens,
  SignedOutReason,
  StoredSession,
  Ticks,
  WireAttachment,
  WireMessage,
} from "./types.ts";
