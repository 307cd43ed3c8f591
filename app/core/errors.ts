// Errors with stable codes: callers (CLI, API transports, UI) branch on `code`, people read `message`.

export type ErrorCode =
  | 'NOT_FOUND'
  | 'NOT_WRITABLE'
  | 'KEY_MISMATCH'
  | 'NOT_A_STREAM'
  | 'CORRUPT'
  | 'INVALID_ARGUMENT'
  | 'INVALID_RECORD'
  | 'PROTECTED'
  | 'EXISTS'
  | 'IO'
  /** no room left on the disk: nothing was changed */
  | 'DISK_FULL'
  /** a peer or source could not be reached */
  | 'UNREACHABLE'
  /** the caller stopped it (Ctrl-C, an AbortSignal); what it had half done is undone */
  | 'CANCELLED'
  /** sync is paused (the syncMode setting): nothing was fetched */
  | 'SYNC_PAUSED'
  /** sync is LAN only (the syncMode setting) and the address is not on the local network */
  | 'LAN_ONLY'
  /** a private stream's record read where its read key is not held (a blind mirror) */
  | 'SEALED'
  /** a stream file of the original Python Drayer, asked to be opened: it can be imported (a copy) */
  | 'ORIGINAL_FILE';

export class DrayerError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'DrayerError';
  }
}

export function isDrayerError(e: unknown, code?: ErrorCode): e is DrayerError {
  return e instanceof DrayerError && (code === undefined || e.code === code);
}
