/**
 * A peer's local store (SQLite, WAL). It holds every message that reached this peer, from its
 * own users and from the mesh, each with its global identity (gid, origin peer id, origin's
 * sequence number), and keeps per origin the highest sequence held with nothing missing below
 * it (the "have" map of docs/protocol-peers.md).
 *
 * It also implements MessageStore, so the repeater server core can be embedded in a peer: a
 * repeater client connected to a peer sees the local ids of this store, and what it posts
 * becomes a message of this peer's origin.
 *
 * Invariant: for each origin, the sequences stored form one unbroken run starting at the first
 * one this peer ever accepted for that origin (its "base": 1, or later when a history window
 * cut the past off). accept() enforces it; catch-up between peers relies on it. Pruning (past
 * `maxMessages`) deletes the oldest rows, which per origin are its lowest sequences, so the run
 * stays unbroken; the have of an origin whose rows were pruned is remembered in `pruned_have`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { SqliteStoreBase, openStoreDb } from '../store/sqlite-base.js';
import type { AppendResult, MessageStore, NewMessage, StoredMessage, Synchronous } from '../store/types.js';
import { MAX_SEQ, type HaveMap, type PeerMessagePacket } from './packets.js';
import type { SignedFields } from './canonical.js';
import { displayName, messageLink, parseSafetyNumber, peerIdOf, safetyNumber, shortFingerprint, signMessage, type PeerIdentity } from './identity.js';
import { openDm, sealDm, type DmHeader } from './seal.js';

/** A stored message with its mesh identity. */
export interface PeerStoredMessage extends StoredMessage {
  gid: string;
  origin: string;
  seq: number;
  /**
   * The origin's signature, its Ed25519 key and its X25519 key (docs/protocol-peers.md,
   * "Message signatures"). Null in rows from before signatures: shown, never sent to a peer.
   */
  sig?: Buffer | null;
  key?: Buffer | null;
  boxKey?: Buffer | null;
  /** The link hash of the origin's previous message (null for seq 1 and unsigned rows). */
  prev?: Buffer | null;
  /**
   * A sealed direct message (docs/protocol-peers.md, "Sealed direct messages"): the box as
   * signed and relayed, the recipient's peer id, and whether this peer opened it (it is the
   * sender or the recipient). Opened: `subject` and `content` hold the plaintext, kept apart
   * from the relayed row (table dm_plain). Not opened (a relay): `content` is a placeholder.
   */
  box?: Buffer | null;
  toPeer?: string | null;
  opened?: boolean;
}

/** What a relay shows in place of a sealed DM it cannot read (never the ciphertext). */
export const SEALED_PLACEHOLDER = '(a sealed direct message; only its sender and recipient can read it)';

/** The fields an origin signs for a stored or received message. */
export function signedFieldsOf(m: { gid: string; origin: string; seq: number; uid: string | null; username: string; room: string; to: string | null; subject: string | null; content: string | null; timestamp: number; box?: Buffer | null; toPeer?: string | null }, boxKey: Buffer | null, prev: Buffer | null = null): SignedFields {
  // As the receiver's parser gives them: an empty subject or recipient travels as null. A sealed
  // DM signs its box, and null for subject and content (they are inside the box).
  const box = m.box ?? null;
  return {
    gid: m.gid, origin: m.origin, seq: m.seq, uid: m.uid, username: m.username, room: m.room, to: m.to || null,
    subject: box ? null : m.subject || null, content: box ? null : m.content, timestamp: m.timestamp,
    prev, box_key: boxKey, to_peer: box ? m.toPeer ?? null : null, box,
  };
}

/** Where a DM to a name goes: the key the name is bound to, its peer id and its X25519 key. */
export interface SealTarget { key: Buffer; peerId: string; boxKey: Buffer }

/** What to do with a message that arrived from another peer. */
export type Verdict = 'new' | 'duplicate' | 'gap';

// A peer store is its own file, so its migrations may count in user_version like the server's.
const MIGRATIONS: string[] = [
  `CREATE TABLE messages (
     id        INTEGER PRIMARY KEY AUTOINCREMENT,
     gid       TEXT NOT NULL UNIQUE,
     origin    TEXT NOT NULL,
     seq       INTEGER NOT NULL,
     uid       TEXT,
     username  TEXT NOT NULL,
     room      TEXT NOT NULL,
     recipient TEXT,
     subject   TEXT,
     content   TEXT NOT NULL,
     ts        REAL NOT NULL,
     remote    TEXT,
     UNIQUE (origin, seq)
   );
   CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE UNIQUE INDEX messages_origin_uid ON messages(origin, username, uid);
   CREATE INDEX messages_room ON messages(room, id) WHERE recipient IS NULL;
   CREATE INDEX messages_recipient ON messages(recipient, id) WHERE recipient IS NOT NULL;
   CREATE TABLE cursors (username TEXT PRIMARY KEY, last_id INTEGER NOT NULL);`,
  // via: the peer id of the link a message came from (NULL: written here), so that what an
  // origin says about itself can undo what others claimed in its name, never what it sent us.
  // pruned_have: the have of origins whose oldest rows were pruned (docs/broadcast.md).
  `ALTER TABLE messages ADD COLUMN via TEXT;
   CREATE TABLE pruned_have (origin TEXT PRIMARY KEY, seq INTEGER NOT NULL);`,
  // Signatures (issue 10): rows from before stay, with NULL: readable, marked unsigned, never sent.
  `ALTER TABLE messages ADD COLUMN sig BLOB;
   ALTER TABLE messages ADD COLUMN skey BLOB;
   ALTER TABLE messages ADD COLUMN box_key BLOB;
   ALTER TABLE messages ADD COLUMN prev BLOB;
   CREATE TABLE name_keys (
     username TEXT NOT NULL, key BLOB NOT NULL, first_seen REAL NOT NULL,
     bound INTEGER NOT NULL DEFAULT 0, noticed INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (username, key));
   CREATE UNIQUE INDEX name_keys_bound ON name_keys(username) WHERE bound = 1;`,
  // Sealed DMs (issue 10): the relayed row keeps the box as signed (content '', subject NULL),
  // byte for byte what is forwarded and verified; the two ends keep the opened plaintext apart,
  // in dm_plain. origin_keys: each origin's X25519 key (from its proved hello or its signed
  // messages), to seal DMs to the peer a name is bound to.
  `ALTER TABLE messages ADD COLUMN box BLOB;
   ALTER TABLE messages ADD COLUMN to_peer TEXT;
   CREATE TABLE dm_plain (id INTEGER PRIMARY KEY, subject TEXT, content TEXT NOT NULL);
   CREATE TABLE origin_keys (origin TEXT PRIMARY KEY, key BLOB NOT NULL, box_key BLOB NOT NULL, seen REAL NOT NULL);
   INSERT INTO origin_keys (origin, key, box_key, seen)
     SELECT origin, skey, box_key, MAX(ts) FROM messages WHERE skey IS NOT NULL AND box_key IS NOT NULL GROUP BY origin;`,
];

// The opened plaintext of a sealed DM comes from dm_plain (one index look-up, sealed rows only).
const COLUMNS = `id, gid, origin, seq, uid, username, room, recipient, subject, content, ts, remote, sig, skey, box_key, prev, box, to_peer,
  CASE WHEN box IS NULL THEN NULL ELSE (SELECT json_array(p.subject, p.content) FROM dm_plain p WHERE p.id = messages.id) END AS plain`;

interface Row {
  id: number; gid: string; origin: string; seq: number; uid: string | null; username: string; room: string;
  recipient: string | null; subject: string | null; content: string; ts: number; remote: string | null;
  sig: Buffer | null; skey: Buffer | null; box_key: Buffer | null; prev: Buffer | null;
  box: Buffer | null; to_peer: string | null; plain: string | null;
}

function fromRow(r: Row): PeerStoredMessage {
  const m: PeerStoredMessage = { id: r.id, gid: r.gid, origin: r.origin, seq: r.seq, uid: r.uid, username: r.username, room: r.room, to: r.recipient, subject: r.subject, content: r.content, timestamp: r.ts, remote: r.remote, sig: r.sig, key: r.skey, boxKey: r.box_key, prev: r.prev };
  if (r.box === null) return m;
  const [subject, content] = r.plain === null ? [null, null] : (JSON.parse(r.plain) as [string | null, string]);
  return content !== null ? { ...m, box: r.box, toPeer: r.to_peer, opened: true, subject, content } : unreadable({ ...m, box: r.box, toPeer: r.to_peer });
}

/**
 * A sealed DM this peer cannot read. `toAccount` makes the embedded repeater server deliver it to
 * nobody, live or in catch-up (a peer has no accounts to log into): a repeater client of a relay
 * that happens to use the recipient's name is another person, and gets nothing of it.
 */
function unreadable(m: PeerStoredMessage): PeerStoredMessage {
  return { ...m, opened: false, subject: null, content: SEALED_PLACEHOLDER, toAccount: true };
}

/** The header a DM's box is bound to (seal.ts): the signed fields that say who wrote to whom. */
function dmHeader(m: { gid: string; origin: string; username: string; to: string | null }, toPeer: string): DmHeader {
  return { gid: m.gid, origin: m.origin, username: m.username, to: m.to ?? '', to_peer: toPeer };
}

/** 16 hex digits: short enough to read in logs, wide enough never to collide on a LAN. */
export function randomPeerId(): string {
  return randomBytes(8).toString('hex');
}

type RemoteRow = NewMessage & { gid: string; origin: string; seq: number; via: string | null; sig: Buffer | null; key: Buffer | null; boxKey: Buffer | null; prev: Buffer | null; box: Buffer | null; toPeer: string | null };

export class PeerStore extends SqliteStoreBase<PeerStoredMessage, Row> implements MessageStore {
  readonly peerId: string;
  /** Highest contiguous sequence per origin (in memory; rebuilt from the table at open). */
  private readonly haveMap = new Map<string, number>();
  private readonly s;
  private readonly insertTx: (batch: RemoteRow[]) => Array<PeerStoredMessage | null>;
  private readonly appendTx: (batch: NewMessage[]) => AppendResult[];
  private readonly pruneTx: (n: number) => number;
  private readonly purgeTx: (origin: string, above: number) => number;
  /** Rows in the table (kept in memory: counted once at open). */
  private rows: number;
  /** Messages kept before pruning (Infinity: no limit). */
  maxMessages = Infinity;
  /** Rows pruned so far (observability and tests). */
  pruned = 0;
  /** The link hash of this peer's newest own message (the next one's `prev`). */
  private lastLink: Buffer | null = null;
  /**
   * Told, after each commit that numbered messages of this peer's own origin (once per batch,
   * not per message), the highest seq now used: the node records it in the identity file.
   */
  onOwnSeq: ((seq: number) => void) | null = null;

  /**
   * `identity`: this peer's keys (identity.ts); its id is the store's origin and its messages are
   * signed as they are written. Without it (tests of the store alone) the store keeps a random
   * id of its own in `meta` and writes unsigned messages, as stores did before signatures.
   */
  constructor(path: string, synchronous: Synchronous = 'full', private readonly identity?: PeerIdentity) {
    super(openStoreDb(path, synchronous, MIGRATIONS), COLUMNS, fromRow);
    const db = this.db;
    let id = identity?.peerId ?? (db.prepare(`SELECT value FROM meta WHERE key = 'peer_id'`).pluck().get() as string | undefined);
    if (id === undefined) {
      id = randomPeerId();
      db.prepare(`INSERT INTO meta (key, value) VALUES ('peer_id', ?)`).run(id);
    }
    this.peerId = id;
    const haveRows = db.prepare(
      `SELECT origin, MAX(seq) AS seq FROM (SELECT origin, MAX(seq) AS seq FROM messages GROUP BY origin UNION ALL SELECT origin, seq FROM pruned_have) GROUP BY origin`,
    );
    for (const r of haveRows.all() as Array<{ origin: string; seq: number }>) this.haveMap.set(r.origin, r.seq);
    this.rows = db.prepare(`SELECT COUNT(*) FROM messages`).pluck().get() as number;
    const newest = db.prepare(`SELECT ${COLUMNS} FROM messages WHERE origin = ? AND sig IS NOT NULL ORDER BY seq DESC LIMIT 1`).get(id) as Row | undefined;
    if (newest?.sig) {
      const l = messageLink(signedFieldsOf(fromRow(newest), newest.box_key, newest.prev), newest.sig);
      if (l.ok) this.lastLink = l.value;
    }
    this.s = {
      insert: db.prepare(
        `INSERT INTO messages (gid, origin, seq, uid, username, room, recipient, subject, content, ts, remote, via, sig, skey, box_key, prev, box, to_peer)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
      ),
      insertPlain: db.prepare(`INSERT OR REPLACE INTO dm_plain (id, subject, content) VALUES (?, ?, ?)`),
      openedDirect: db.prepare(`SELECT ${COLUMNS} FROM messages WHERE id IN (SELECT id FROM dm_plain ORDER BY id DESC LIMIT ?) ORDER BY id`),
      boundKey: db.prepare(`SELECT key FROM name_keys WHERE username = ? AND bound = 1`).pluck(),
      boxKeyOf: db.prepare(`SELECT box_key FROM origin_keys WHERE origin = ?`).pluck(),
      setOriginKey: db.prepare(
        `INSERT INTO origin_keys (origin, key, box_key, seen) VALUES (?, ?, ?, ?)
         ON CONFLICT (origin) DO UPDATE SET box_key = excluded.box_key, seen = excluded.seen WHERE box_key != excluded.box_key`,
      ),
      byUid: db.prepare(`SELECT ${COLUMNS} FROM messages WHERE origin = ? AND username = ? AND uid = ?`),
      after: db.prepare(`SELECT ${COLUMNS} FROM messages WHERE id > ? ORDER BY id LIMIT ?`),
      firstAfterSeq: db.prepare(`SELECT id FROM messages WHERE origin = ? AND seq > ? ORDER BY seq LIMIT 1`).pluck(),
      firstAfterId: db.prepare(`SELECT MIN(id) FROM messages WHERE origin = ? AND id > ?`).pluck(),
      recent: db.prepare(`SELECT ${COLUMNS} FROM messages ORDER BY id DESC LIMIT ?`),
      // The oldest rows of other origins (per origin, its lowest sequences: ids grow with seq).
      rememberPruned: db.prepare(
        `INSERT INTO pruned_have (origin, seq)
         SELECT origin, MAX(seq) FROM messages WHERE id IN (SELECT id FROM messages WHERE origin != @self ORDER BY id LIMIT @n) GROUP BY origin
         ON CONFLICT (origin) DO UPDATE SET seq = MAX(seq, excluded.seq)`,
      ),
      prune: db.prepare(`DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE origin != @self ORDER BY id LIMIT @n)`),
      // The opened plaintext of a row goes with it (before it, while the rows still say which).
      prunePlain: db.prepare(`DELETE FROM dm_plain WHERE id IN (SELECT id FROM messages WHERE origin != @self ORDER BY id LIMIT @n)`),
      purgePlain: db.prepare(`DELETE FROM dm_plain WHERE id IN (SELECT id FROM messages WHERE origin = ? AND seq > ?)`),
      sentByOrigin: db.prepare(`SELECT COUNT(*) FROM messages WHERE origin = ? AND seq > ? AND via = ?`).pluck(),
      purge: db.prepare(`DELETE FROM messages WHERE origin = ? AND seq > ?`),
      clampPruned: db.prepare(`UPDATE pruned_have SET seq = ? WHERE origin = ? AND seq > ?`),
      haveOf: db.prepare(`SELECT MAX(seq) FROM (SELECT MAX(seq) AS seq FROM messages WHERE origin = @o UNION ALL SELECT seq FROM pruned_have WHERE origin = @o)`).pluck(),
    };
    this.insertTx = db.transaction((batch: RemoteRow[]) =>
      batch.map((m) => {
        // A relayed sealed DM is stored as signed: content '' and subject NULL beside its box.
        const row = this.s.insert.get(m.gid, m.origin, m.seq, m.uid, m.username, m.room, m.to, m.box ? null : m.subject, m.box ? '' : m.content, m.timestamp, m.remote ?? null, m.via, m.sig, m.key, m.boxKey, m.prev, m.box, m.toPeer) as { id: number } | undefined;
        if (!row) return null;
        // Its X25519 key, vouched for by the signature: DMs to its users are sealed to it.
        if (m.key && m.boxKey) this.s.setOriginKey.run(m.origin, m.key, m.boxKey, m.timestamp);
        const { via: _via, ...message } = m;
        const stored: PeerStoredMessage = { ...message, remote: m.remote ?? null, id: row.id };
        return m.box ? this.openStored(stored, m.box, m.toPeer!) : stored;
      }),
    );
    this.pruneTx = db.transaction((n: number) => {
      this.s.rememberPruned.run({ self: this.peerId, n });
      this.s.prunePlain.run({ self: this.peerId, n });
      return this.s.prune.run({ self: this.peerId, n }).changes;
    });
    this.purgeTx = db.transaction((origin: string, above: number) => {
      this.s.clampPruned.run(above, origin, above);
      this.s.purgePlain.run(origin, above);
      return this.s.purge.run(origin, above).changes;
    });
    // One by one inside the transaction, so a uid repeated within the batch finds its first copy.
    this.appendTx = db.transaction((batch: NewMessage[]) => {
      const start = this.haveMap.get(this.peerId) ?? 0;
      let seq = start;
      let lastLink = this.lastLink;
      const out = batch.map((m): AppendResult => {
        if (m.uid !== null) {
          const prior = this.s.byUid.get(this.peerId, m.username, m.uid) as Row | undefined;
          if (prior) return { message: fromRow(prior), duplicate: true };
        }
        seq++;
        // Unreachable in practice (eight months at 100 a second), but never past what peers believe.
        if (seq > MAX_SEQ) throw new Error(`this peer has written ${MAX_SEQ} messages: its numbering is exhausted`);
        // <origin>:<seq>: unique by construction, so no other origin can take a real gid first.
        const gid = this.identity ? `${this.peerId}:${seq}` : randomUUID();
        let sig: Buffer | null = null;
        const boxKey = this.identity?.boxPublic ?? null;
        // A DM is sealed to the peer its recipient's name is bound to, and to this peer (seal.ts);
        // without a known key it is refused before it gets here (PeerNode.dmTarget).
        let box: Buffer | null = null;
        let toPeer: string | null = null;
        if (this.identity && m.to) {
          const target = this.sealTargetOf(m.to);
          if (!target) throw new Error(`${m.to} has no known key: a direct message to them cannot be sealed`);
          toPeer = target.peerId;
          const sealed = sealDm(dmHeader({ gid, origin: this.peerId, username: m.username, to: m.to }, toPeer), { subject: m.subject || null, content: m.content }, [target.boxKey, this.identity.boxPublic]);
          if (!sealed.ok) throw new Error(`cannot seal message ${seq}: ${sealed.message}`);
          box = sealed.value;
        }
        // Each message names the link hash of the one before it, so a receiver checks one
        // signature per run of this origin's messages (verifyBatch), and a fork shows.
        const prev = this.identity && seq > 1 ? lastLink : null;
        if (this.identity) {
          const signed = signMessage(this.identity, signedFieldsOf({ ...m, gid, origin: this.peerId, seq, box, toPeer }, boxKey, prev));
          if (!signed.ok) throw new Error(`cannot sign message ${seq}: ${signed.message}`);
          sig = signed.value.sig;
          lastLink = signed.value.link;
        }
        const key = this.identity?.signPublic ?? null;
        const row = this.s.insert.get(gid, this.peerId, seq, m.uid, m.username, m.room, m.to, box ? null : m.subject, box ? '' : m.content, m.timestamp, m.remote ?? null, null, sig, key, boxKey, prev, box, toPeer) as { id: number } | undefined;
        if (!row) throw new Error(`sequence ${seq} of this peer is taken: the store is inconsistent`);
        // The sender keeps what it wrote in clear, apart from the relayed row (dm_plain).
        if (box) this.s.insertPlain.run(row.id, m.subject, m.content);
        const stored: PeerStoredMessage = { ...m, remote: m.remote ?? null, id: row.id, gid, origin: this.peerId, seq, sig, key, boxKey, prev, ...(box ? { box, toPeer, opened: true } : {}) };
        return { message: stored, duplicate: false };
      });
      // Only after the statements succeeded: a rolled-back batch must not move the counter.
      if (seq > start) this.haveMap.set(this.peerId, seq);
      this.lastLink = lastLink;
      return out;
    });
  }

  // ---- names bound to keys (trust on first use) ------------------------------------------
  /** Bound keys by name, as read or written (bounded: a flood of names only costs look-ups). */
  private readonly boundKeys = new Map<string, Buffer>();

  private rememberBound(username: string, key: Buffer): void {
    if (this.boundKeys.size >= 10_000) this.boundKeys.delete(this.boundKeys.keys().next().value!);
    this.boundKeys.set(username, key);
  }

  /**
   * What `username` writing with `key` is called here: the first key seen with a name owns it
   * (bound); another key with that name is another person, shown as `name#tag` and never
   * merged. `notice` is set once per such (name, key): the UI tells it once.
   */
  nameOf(username: string, key: Buffer, now: number, tell = true): { display: string; bound: boolean; notice: string | null } {
    const db = this.db;
    // Most messages come from a name's bound key: one cached look-up, nothing written.
    const known = this.boundKeys.get(username);
    if (known?.equals(key)) return { display: username, bound: true, notice: null };
    const boundKey = known ?? (db.prepare(`SELECT key FROM name_keys WHERE username = ? AND bound = 1`).pluck().get(username) as Buffer | undefined);
    if (boundKey === undefined) {
      db.prepare(`INSERT INTO name_keys (username, key, first_seen, bound, noticed) VALUES (?, ?, ?, 1, 1) ON CONFLICT (username, key) DO UPDATE SET bound = 1`).run(username, key, now);
      this.rememberBound(username, key);
      return { display: username, bound: true, notice: null };
    }
    this.rememberBound(username, boundKey);
    if (boundKey.equals(key)) return { display: username, bound: true, notice: null };
    const display = displayName(username, key);
    // Without `tell` (binding as messages pass, with no UI), the notice is left for the UI.
    const r = tell
      ? db.prepare(`INSERT INTO name_keys (username, key, first_seen, noticed) VALUES (?, ?, ?, 1) ON CONFLICT (username, key) DO UPDATE SET noticed = 1 WHERE noticed = 0`).run(username, key, now)
      : db.prepare(`INSERT INTO name_keys (username, key, first_seen) VALUES (?, ?, ?) ON CONFLICT (username, key) DO NOTHING`).run(username, key, now) && { changes: 0 };
    const notice = r.changes > 0 ? `another ${username} (${display}) is writing, with another key; the ${username} you know is ${displayName(username, boundKey)}` : null;
    return { display, bound: false, notice };
  }

  /**
   * Confirms out loud who `username` is (`lab93 peer --trust`, `/trust`): the key seen with that
   * name whose safety number (or short fingerprint) is `typed` becomes the one the name is bound
   * to here. Returns what to tell the user.
   */
  trust(username: string, typed: string): { ok: boolean; message: string } {
    const keys = this.db.prepare(`SELECT key FROM name_keys WHERE username = ?`).pluck().all(username) as Buffer[];
    const number = parseSafetyNumber(typed);
    const hex = typed.trim().replace(/^#/, '').toLowerCase();
    const match = keys.find((k) => (number.ok && safetyNumber(k) === number.value) || (/^[0-9a-f]{4,}$/.test(hex) && shortFingerprint(k, hex.length) === hex));
    if (!match) {
      if (keys.length === 0) return { ok: false, message: `no key has written as ${username} here yet` };
      return { ok: false, message: `none of the ${keys.length} key(s) seen with ${username} has that number: ${keys.map((k) => displayName(username, k)).join(', ')}` };
    }
    this.db.transaction(() => {
      this.db.prepare(`UPDATE name_keys SET bound = 0 WHERE username = ?`).run(username);
      this.db.prepare(`UPDATE name_keys SET bound = 1, noticed = 1 WHERE username = ? AND key = ?`).run(username, match);
    })();
    this.rememberBound(username, match);
    return { ok: true, message: `${username} is now ${displayName(username, match)} (safety number ${safetyNumber(match)}); other keys with that name are shown as name#tag` };
  }

  // ---- sealed direct messages ------------------------------------------------------------
  /**
   * Where a DM to `username` is sealed (docs/protocol-peers.md, "Sealed direct messages"): the
   * key the name is bound to here, with that origin's X25519 key. Null: no key is bound to the
   * name, or its X25519 key was never seen (nothing to seal to).
   */
  sealTargetOf(username: string): SealTarget | null {
    const key = this.s.boundKey.get(username) as Buffer | undefined;
    if (!key) return null;
    const peerId = peerIdOf(key);
    if (this.identity && peerId === this.peerId) return { key, peerId, boxKey: this.identity.boxPublic };
    const boxKey = this.s.boxKeyOf.get(peerId) as Buffer | undefined;
    return boxKey ? { key, peerId, boxKey } : null;
  }

  /** Remembers an origin's X25519 key (from its proved hello): DMs can be sealed to it at once. */
  rememberBoxKey(key: Buffer, boxKey: Buffer, now: number): void {
    this.s.setOriginKey.run(peerIdOf(key), key, boxKey, now);
  }

  /**
   * A sealed DM just stored: this peer opens it when it is one of the two ends (the recipient,
   * or the sender getting its own message back) and keeps the plaintext apart (dm_plain), so
   * the relayed row stays as signed. Anyone else, or a box that does not open, keeps the
   * placeholder: shown to nobody as a message.
   */
  private openStored(m: PeerStoredMessage, box: Buffer, toPeer: string): PeerStoredMessage {
    const sealed = unreadable({ ...m, box, toPeer });
    if (!this.identity || (toPeer !== this.peerId && m.origin !== this.peerId)) return sealed;
    const body = openDm(dmHeader(m, toPeer), box, this.identity);
    if (!body.ok) {
      this.unopened.push({ gid: m.gid, code: body.code });
      return sealed;
    }
    this.s.insertPlain.run(m.id, body.value.subject, body.value.content);
    return { ...m, box, toPeer, opened: true, subject: body.value.subject, content: body.value.content };
  }

  /** DMs addressed to this peer whose box did not open since the last call (for the log). */
  takeUnopened(): Array<{ gid: string; code: string }> {
    const out = this.unopened;
    this.unopened = [];
    return out;
  }

  private unopened: Array<{ gid: string; code: string }> = [];

  /**
   * The direct messages this peer can read, as it shows them (plaintext), oldest first: those
   * it sent and those sealed to it. Tests read what a peer shows through this.
   */
  openedDirect(limit = 1000): PeerStoredMessage[] {
    const rows = this.s.openedDirect.all(limit) as Row[];
    return rows.map(fromRow);
  }

  // ---- the mesh -------------------------------------------------------------------------
  /** The have map: per origin, the highest sequence held with nothing missing below it. */
  have(): HaveMap {
    return Object.fromEntries(this.haveMap);
  }

  /** The have map without copying it (it may hold many thousands of origins). */
  haveEntries(): IterableIterator<[string, number]> {
    return this.haveMap.entries();
  }

  get origins(): number {
    return this.haveMap.size;
  }

  haveOf(origin: string): number | undefined {
    return this.haveMap.get(origin);
  }

  /**
   * Decides about a message from another peer and, when it is new, reserves its place (the
   * have map moves on at once, so that a copy arriving by another path before the commit is
   * seen as a duplicate). An origin never seen may start at any sequence (history window);
   * a known one only at the next sequence: anything beyond it is a gap and is refused.
   */
  accept(m: Pick<PeerMessagePacket, 'origin' | 'seq'>): Verdict {
    const have = this.haveMap.get(m.origin);
    if (have !== undefined && m.seq <= have) return 'duplicate';
    if (have !== undefined && m.seq !== have + 1) return 'gap';
    this.haveMap.set(m.origin, m.seq);
    return 'new';
  }

  /** Gives back the places accept() reserved for messages that could not be stored. */
  forget(batch: Array<Pick<PeerMessagePacket, 'origin'>>): void {
    for (const origin of new Set(batch.map((m) => m.origin))) {
      const held = this.s.haveOf.get({ o: origin }) as number | null;
      if (held === null) this.haveMap.delete(origin);
      else this.haveMap.set(origin, held);
    }
  }

  /**
   * Stores accepted mesh messages in one transaction; a gid seen before is skipped (null).
   * `via`: the peer id of the link each came from.
   */
  insertRemote(batch: Array<PeerMessagePacket & { via?: string | null }>): Array<PeerStoredMessage | null> {
    const out = this.insertTx(batch.map((p) => ({ gid: p.gid, origin: p.origin, seq: p.seq, uid: p.uid, username: p.username, room: p.room, to: p.to, subject: p.subject, content: p.content ?? '', timestamp: p.timestamp, remote: null, via: p.via ?? null, sig: p.sig ?? null, key: p.key ?? null, boxKey: p.box_key ?? null, prev: p.prev ?? null, box: p.box ?? null, toPeer: p.to_peer ?? null })));
    for (const m of out) if (m) this.rows++;
    this.pruneIfFull();
    return out;
  }

  /** Messages in the store. */
  get size(): number {
    return this.rows;
  }

  /**
   * Past `maxMessages`, deletes the oldest messages of other origins, down to 95% of the limit
   * (so that pruning runs once in a while, not on every insert). This peer's own messages are
   * never pruned: when they alone pass the limit, the store grows (docs/broadcast.md).
   */
  private pruneIfFull(): void {
    if (this.rows <= this.maxMessages) return;
    const target = Math.floor(this.maxMessages * 0.95);
    const n = this.pruneTx(this.rows - target);
    this.rows -= n;
    this.pruned += n;
  }

  /**
   * What `origin` says it holds of itself is the truth about it: messages of that origin above
   * `seq` were claimed by others in its name, and are deleted, unless some came from the
   * origin itself (then this claim is the odd one, and nothing is deleted: returns null).
   * Returns the number of messages deleted. The caller flushes pending inserts first.
   */
  purgeAbove(origin: string, seq: number): number | null {
    const have = this.haveMap.get(origin);
    if (have === undefined || have <= seq) return 0;
    if ((this.s.sentByOrigin.get(origin, seq, origin) as number) > 0) return null;
    const n = this.purgeTx(origin, seq);
    this.rows -= n;
    const left = this.s.haveOf.get({ o: origin }) as number | null;
    if (left === null) this.haveMap.delete(origin);
    else this.haveMap.set(origin, Math.min(left, seq));
    return n;
  }

  /** Messages with a local id above `afterId`, ascending: what a peer link streams from. */
  after(afterId: number, limit: number): PeerStoredMessage[] {
    return (this.s.after.all(afterId, limit) as Row[]).map(fromRow);
  }

  /** Local id of the first message of `origin` above sequence `seq`, if any. */
  firstIdAfterSeq(origin: string, seq: number): number | undefined {
    return (this.s.firstAfterSeq.get(origin, seq) as number | undefined) ?? undefined;
  }

  /** Local id of the first message of `origin` above local id `id`, if any. */
  firstIdAfterId(origin: string, id: number): number | undefined {
    return (this.s.firstAfterId.get(origin, id) as number | null) ?? undefined;
  }

  /** The newest `limit` messages of every room and conversation, ascending. */
  recentSync(limit: number): PeerStoredMessage[] {
    return (this.s.recent.all(limit) as Row[]).reverse().map(fromRow);
  }

  // ---- MessageStore (the embedded repeater server and this peer's own user) -------------
  /**
   * Stores messages written on this peer (by its terminal user or a repeater client connected
   * to it) as messages of this peer's origin, numbered in order. A repeated (username, uid)
   * returns the original, as the repeater protocol promises.
   */
  async append(batch: NewMessage[]): Promise<AppendResult[]> {
    return this.appendSync(batch);
  }

  appendSync(batch: NewMessage[]): AppendResult[] {
    const before = this.haveMap.get(this.peerId);
    const out = this.appendTx(batch);
    for (const r of out) if (!r.duplicate) this.rows++;
    this.pruneIfFull();
    const after = this.haveMap.get(this.peerId);
    // Before the callers hear of the batch, so before any of it is sent to a peer.
    if (after !== undefined && after !== before) this.onOwnSeq?.(after);
    return out;
  }

  /**
   * This peer numbered its own messages up to `seq` in a store that was since lost (the identity
   * file remembers it; docs/broadcast.md, "A lost store"). Its neighbours hold those numbers, so
   * its numbering goes on after them, and its have of its own origin says so (what is not held
   * here of it counts as pruned, and is remembered as pruned origins are): the other side of a
   * link then neither takes our new messages for repeats nor sends us our lost ones back.
   * The next message cannot name the link hash of one we no longer hold: its `prev` is null.
   */
  continueOwnAfter(seq: number): void {
    if (seq <= (this.haveMap.get(this.peerId) ?? 0)) return;
    this.db.prepare(`INSERT INTO pruned_have (origin, seq) VALUES (?, ?) ON CONFLICT (origin) DO UPDATE SET seq = MAX(seq, excluded.seq)`).run(this.peerId, seq);
    this.haveMap.set(this.peerId, seq);
    this.lastLink = null;
  }
}
