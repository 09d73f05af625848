export { ParleyClient, type ClientEvents } from './parley-client'
export { createClientMsgId } from './client-msg-id'
export { ClientError, ClientErrorCode, isRetryableCode } from './errors'
export { reconnectDelay } from './backoff'
export { ACK_BATCH_LIMIT } from './acker'
export {
  DEFAULT_ACK_DELAY_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_FAIL_AFTER_MS,
  DEFAULT_GAP_FILL_DELAY_MS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_HEARTBEAT_TIMEOUT_MS,
  DEFAULT_HISTORY_PAGE,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_RECONNECT_INITIAL_DELAY_MS,
  DEFAULT_RECONNECT_MAX_DELAY_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_RESEND_AFTER_MS,
  systemClock,
  type ParleyClientOptions,
  type ReconnectOptions,
} from './options'
export type {
  ChatItem,
  ClientLogger,
  Clock,
  ConnectionStatus,
  Content,
  FetchLike,
  KeyValueStorage,
  OutgoingMessage,
  OutgoingState,
  Participant,
  SendInput,
  SystemEventName,
  TokenSource,
  WebSocketConstructor,
  WebSocketLike,
} from './types'
