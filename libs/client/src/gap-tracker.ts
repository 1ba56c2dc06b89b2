import { nameKey } from '@hush/protocol';

/** Who a gap is about: a member of the roster, by id and name. */
export interface RosterEntry {
  readonly id: string;
  readonly name: string;
}

/**
 * A gap: messages from `member` that never arrived. `missed` is how many; without it, some may
 * have been missed and nobody can say how many (the member came back under a new id).
 */
export interface Gap<M extends RosterEntry = RosterEntry> {
  member: M;
  missed?: number;
}

/**
 * Gap detection without history (feature `gaps`), the rules of one member's view of its room.
 * The relay numbers each sender's messages and reactions from 1 per seat (`seq`) and, as a member
 * joins, tells it where every member's count stands (Notice `sequences`). A number that skips is
 * a count of what was missed. The tracker knows only ids, names and numbers: the caller owns the
 * roster and turns what the methods return into whatever it shows.
 */
export class GapTracker<M extends RosterEntry = RosterEntry> {
  /**
   * Member id → the last number seen from it, kept after it leaves: an id that comes back (a
   * replica's members written back after its lease lapsed) keeps counting.
   */
  private readonly last = new Map<string, number>();
  /**
   * Name keys of members who were here when we lost the connection and had left by the time we
   * were back: what they sent in between is unknowable, so a return under a new id is a gap.
   */
  private readonly leftWhileAway = new Set<string>();

  /** A first join: who was here before us starts at whatever number it shows first. */
  reset(): void {
    this.last.clear();
    this.leftWhileAway.clear();
  }

  /**
   * A member joined while we watched. A new id starts its count at 1, so any lower number is a
   * loss; an id we knew goes on from what we saw. One who had left while we were away, back under
   * a new id, is a gap nobody can count.
   */
  joined(member: M): Gap<M> | undefined {
    if (!this.last.has(member.id)) this.last.set(member.id, 0);
    if (this.leftWhileAway.size === 0) return undefined;
    return this.leftWhileAway.delete(nameKey(member.name)) ? { member } : undefined;
  }

  /**
   * We are back in the room after losing the connection: `before` is the roster as we lost it
   * (without us), `now` the roster in our RoomJoined (without us). Returns the members we can tell
   * nothing about: here before under another id, back under a new one.
   */
  rejoined(before: Iterable<M>, now: Iterable<M>): Gap<M>[] {
    const keyed = (members: Iterable<M>) =>
      new Map([...members].map((member) => [member.id, { member, key: nameKey(member.name) }]));
    const present = keyed(now);
    const earlier = keyed(before);
    const namesBefore = new Set([...earlier.values()].map(({ key }) => key));
    const namesNow = new Set([...present.values()].map(({ key }) => key));
    for (const [id, { key }] of earlier) {
      if (!present.has(id) && !namesNow.has(key)) this.leftWhileAway.add(key);
    }
    const gaps: Gap<M>[] = [];
    for (const [id, { member, key }] of present) {
      if (earlier.has(id)) continue;
      if (!this.last.has(id)) this.last.set(id, 0);
      if (namesBefore.has(key) || this.leftWhileAway.delete(key)) gaps.push({ member });
    }
    return gaps;
  }

  /**
   * Where members' counts stood as we joined: more than we saw from one is what we missed while
   * we were away; for a member not seen yet it is where we start. `member` looks an id up in the
   * roster (undefined: not a member, ignored).
   */
  standing(sequences: Record<string, number>, member: (id: string) => M | undefined): Gap<M>[] {
    const gaps: Gap<M>[] = [];
    for (const [id, seq] of Object.entries(sequences)) {
      const known = member(id);
      if (known === undefined) continue;
      const last = this.last.get(id);
      if (last !== undefined && seq > last) gaps.push({ member: known, missed: seq - last });
      this.last.set(id, Math.max(last ?? 0, seq));
    }
    return gaps;
  }

  /** A numbered message or reaction from `from`: a number that skips is what never arrived. */
  received(from: M, seq: number | undefined): Gap<M> | undefined {
    if (seq === undefined) return undefined;
    const last = this.last.get(from.id);
    this.last.set(from.id, Math.max(last ?? 0, seq));
    return last !== undefined && seq > last + 1
      ? { member: from, missed: seq - last - 1 }
      : undefined;
  }
}
