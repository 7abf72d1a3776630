/**
 * What a peer says about itself must fit in frames (docs/protocol-peers.md, "Have maps").
 * A have map grows with every origin a peer ever heard of; sent whole in one `peer-hello` it
 * passed the frame limit after about 800 long origins, and the peers never linked again. So a
 * map is cut into pages of a bounded size: the first rides in `peer-hello` (`have_more`), the
 * rest follow in `peer-have` frames, all but the last with `more`. The receiver collects pages
 * (up to a bound of its own) and acts on the whole map once the last arrives. Pure.
 */
import type { HaveMap, PeerUser } from './packets.js';

/** JSON bytes of one page: with base64 (x4/3) and the other hello fields, far below 64 KiB. */
export const HAVE_PAGE_BYTES = 16 * 1024;
/** JSON bytes for the users list of a hello or peer-users (more users are left out). */
export const USERS_BYTES = 16 * 1024;
/** Origins a receiver keeps from one have map; entries past it are treated as unknown. */
export const MAX_HAVE_ORIGINS = 200_000;

/**
 * Cuts `entries` into have pages of at most `budget` JSON bytes each; `first` (this peer's own
 * origin) goes on the first page, so the origin's own word about itself comes first.
 * Always at least one page (possibly empty).
 */
export function pageHave(entries: Iterable<readonly [string, number]>, first: string | null = null, budget = HAVE_PAGE_BYTES): HaveMap[] {
  const pages: HaveMap[] = [];
  // Null-prototype objects: an origin named "__proto__" is a valid peer id and must stay a key.
  const blank = (): HaveMap => Object.create(null) as HaveMap;
  let page = blank();
  let bytes = 2;
  const add = (k: string, v: number): void => {
    // "key":value, — ids are [A-Za-z0-9_-], so JSON adds only the quotes.
    const cost = k.length + String(v).length + 4;
    if (bytes + cost > budget && bytes > 2) {
      pages.push(page);
      page = blank();
      bytes = 2;
    }
    page[k] = v;
    bytes += cost;
  };
  const all = [...entries];
  const own = first === null ? undefined : all.find(([k]) => k === first);
  if (own) add(own[0], own[1]);
  for (const [k, v] of all) if (k !== first) add(k, v);
  pages.push(page);
  return pages;
}

/** The users that fit in `budget` JSON bytes, in order (a hello must stay one frame). */
export function fitUsers(users: PeerUser[], budget = USERS_BYTES): { users: PeerUser[]; left: number } {
  let bytes = 2;
  const out: PeerUser[] = [];
  for (const u of users) {
    const cost = JSON.stringify(u).length + 1;
    if (bytes + cost > budget) break;
    out.push(u);
    bytes += cost;
  }
  return { users: out, left: users.length - out.length };
}

/** Collects the pages of one have map as they arrive. */
export class HaveCollector {
  readonly have = new Map<string, number>();
  /** Entries left out because the map passed `max` origins. */
  dropped = 0;
  constructor(private readonly max = MAX_HAVE_ORIGINS) {}

  add(page: HaveMap): void {
    for (const [k, v] of Object.entries(page)) {
      if (this.have.has(k) || this.have.size < this.max) this.have.set(k, v);
      else this.dropped++;
    }
  }
}
