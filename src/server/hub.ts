/**
 * Who is where: rooms to sessions, users to sessions, and per room how many connections each
 * user has there, which decides presence (online on the first, offline after the last).
 */
export interface Member {
  readonly id: string;
  readonly username: string | null;
  /** Quiet members (scripts) receive room messages but are invisible: no presence, not in who. */
  readonly quiet?: boolean;
}

export class Hub<S extends Member> {
  readonly rooms = new Map<string, Set<S>>();
  readonly users = new Map<string, Set<S>>();
  private readonly roomUsers = new Map<string, Map<string, number>>();

  addUser(s: S): void {
    const u = s.username!;
    let set = this.users.get(u);
    if (!set) this.users.set(u, (set = new Set()));
    set.add(s);
  }

  removeUser(s: S): void {
    const u = s.username!;
    const set = this.users.get(u);
    if (!set) return;
    set.delete(s);
    if (set.size === 0) this.users.delete(u);
  }

  /** Returns true when this is the user's first connection in the room. */
  join(s: S, room: string): boolean {
    let set = this.rooms.get(room);
    if (!set) this.rooms.set(room, (set = new Set()));
    if (set.has(s)) return false;
    set.add(s);
    if (s.quiet) return false;
    let counts = this.roomUsers.get(room);
    if (!counts) this.roomUsers.set(room, (counts = new Map()));
    const n = (counts.get(s.username!) ?? 0) + 1;
    counts.set(s.username!, n);
    return n === 1;
  }

  /** Returns true when that was the user's last connection in the room. */
  leave(s: S, room: string): boolean {
    const set = this.rooms.get(room);
    if (!set || !set.delete(s)) return false;
    if (set.size === 0) this.rooms.delete(room);
    if (s.quiet) return false;
    const counts = this.roomUsers.get(room)!;
    const n = (counts.get(s.username!) ?? 1) - 1;
    if (n <= 0) {
      counts.delete(s.username!);
      if (counts.size === 0) this.roomUsers.delete(room);
      return true;
    }
    counts.set(s.username!, n);
    return false;
  }

  usersIn(room: string): string[] {
    return [...(this.roomUsers.get(room)?.keys() ?? [])].sort();
  }
}
