// What a client connection has said about itself: protocol version (HELLO), name (CLIENT SETNAME,
// HELLO SETNAME), library (CLIENT SETINFO), who it is (AUTH), how it wants replies (CLIENT REPLY).
// One small object per connection, created lazily: a connection that never sends HELLO, AUTH or
// CLIENT has none beyond the defaults, and the RESP2 request path only reads `gated`.
import { RS } from '../protocol/resp3.js';

/** A user the node accepts (`requirepass` is the `default` user). */
export interface ClientUser {
  readonly name: string;
  /** Lower-case hex SHA-256 of the password (stored hashed, compared hashed). */
  readonly sha256: string;
  /** Only commands without the write flag (and the connection commands) are allowed. */
  readonly readonly: boolean;
  /** false: AUTH as this user fails (the user exists but is `off`). */
  readonly enabled: boolean;
}

export type ReplyMode = 'on' | 'off' | 'skip';

export class Session {
  /** RESP version of the replies: 2 until HELLO 3. */
  proto: 2 | 3 = 2;
  name = '';
  libName = '';
  libVer = '';
  /** The authenticated user; undefined while a password is required and AUTH has not succeeded. */
  user: ClientUser | undefined;
  readonly createdAt = Date.now();
  lastCommandAt = Date.now();
  noEvict = false;
  noTouch = false;
  reply: ReplyMode = 'on';

  constructor(
    readonly id: number,
    /** Users of the node; `default` without a password when none is configured. */
    readonly users: ReadonlyMap<string, ClientUser>,
    readonly defaultUser: ClientUser | undefined,
  ) {
    // No password on the default user: every connection starts as `default`, as in Redis.
    this.user = defaultUser === undefined ? OPEN_DEFAULT : undefined;
  }

  /** True while requests must be checked (not authenticated, or a read-only user). */
  get gated(): boolean {
    return this.user === undefined || this.user.readonly;
  }

  /** The shape every reply of a new request gets before its command refines it. */
  get baseShape(): number {
    if (this.reply !== 'on') return RS.SUPPRESS;
    return this.proto === 3 ? RS.PLAIN : RS.NATIVE;
  }

  /** RESET: back to a fresh connection's state (the user too, when a password is required). */
  reset(): void {
    this.proto = 2;
    this.name = '';
    this.noEvict = false;
    this.noTouch = false;
    this.reply = 'on';
    this.user = this.defaultUser === undefined ? OPEN_DEFAULT : undefined;
  }
}

/** The `default` user when no password is configured: everything allowed. */
export const OPEN_DEFAULT: ClientUser = Object.freeze({ name: 'default', sha256: '', readonly: false, enabled: true });
