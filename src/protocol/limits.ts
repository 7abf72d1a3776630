/** Protocol limits and their defaults (docs/protocol.md, "Limits"). All are configurable on the server. */
export interface Limits {
  /** Longest frame line in bytes, without its newline. */
  maxFrameBytes: number;
  /** Longest message content in UTF-8 bytes. */
  maxContentBytes: number;
  maxNameLength: number;
  maxRoomLength: number;
  maxSubjectLength: number;
  maxUidLength: number;
  maxRoomsPerConnection: number;
  maxHistoryLimit: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxFrameBytes: 64 * 1024,
  maxContentBytes: 4 * 1024,
  maxNameLength: 32,
  maxRoomLength: 64,
  maxSubjectLength: 200,
  maxUidLength: 64,
  maxRoomsPerConnection: 32,
  maxHistoryLimit: 1000,
});

export const DEFAULT_PORT = 5190;
export const DEFAULT_ROOM = 'lobby';
export const PROTOCOL_VERSION = 1;
