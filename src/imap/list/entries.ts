// Which names a LIST or LSUB returns and with which attributes (RFC 9051 6.3.9, 7.3.1;
// RFC 5258 LIST-EXTENDED; RFC 6154 SPECIAL-USE; RFC 3348 CHILDREN). Pure: it works on a
// snapshot of the user's mailboxes and subscriptions, so it is unit-testable without a store.
import type { SpecialUse } from '../../core/ports';
import { ancestors, compareNames, matchesPattern } from './pattern';

export interface MailboxInfo {
  name: string;
  specialUse: SpecialUse | null;
  /** Exists only to hold other mailboxes (\Noselect). */
  noSelect?: boolean;
}

/** The selection criteria and return options of one LIST (RFC 5258 3.1, 3.2). */
export interface ListQuery {
  /** Canonical patterns (reference applied); "" patterns are answered by the caller. */
  patterns: string[];
  /** LIST-EXTENDED syntax was used: \NonExistent instead of \Noselect. */
  extended: boolean;
  selectSubscribed: boolean;
  selectSpecialUse: boolean;
  recursiveMatch: boolean;
  /** \Subscribed is returned (RETURN (SUBSCRIBED) or the SUBSCRIBED selection option). */
  returnSubscribed: boolean;
}

export interface ListEntry {
  name: string;
  /** A mailbox by this name exists (selectable unless it has \Noselect among its attributes). */
  exists: boolean;
  attributes: string[];
  /** CHILDINFO extended data (RFC 5258 3.5): selection options some descendant satisfies. */
  childInfo: string[] | null;
}

/** The user's names, indexed for the questions LIST asks. */
export class MailboxTree {
  private readonly mailboxes = new Map<string, MailboxInfo>();
  private readonly subscribed: Set<string>;
  /** Names with at least one existing mailbox below them. */
  private readonly parents = new Set<string>();

  constructor(mailboxes: readonly MailboxInfo[], subscriptions: readonly string[]) {
    for (const mb of mailboxes) {
      this.mailboxes.set(mb.name, mb);
      for (const a of ancestors(mb.name)) this.parents.add(a);
    }
    this.subscribed = new Set(subscriptions);
  }

  exists(name: string): boolean {
    return this.mailboxes.has(name);
  }

  isSubscribed(name: string): boolean {
    return this.subscribed.has(name);
  }

  hasChildren(name: string): boolean {
    return this.parents.has(name);
  }

  specialUse(name: string): SpecialUse | null {
    return this.mailboxes.get(name)?.specialUse ?? null;
  }

  /** Exists but holds only other mailboxes (a backend's hierarchy level). */
  noSelect(name: string): boolean {
    return this.mailboxes.get(name)?.noSelect === true;
  }

  /** LIST: the entries, in output order. RECURSIVEMATCH alone is the caller's BAD (RFC 5258 3.1). */
  list(query: ListQuery): ListEntry[] {
    const matches = (name: string): boolean => query.patterns.some((p) => matchesPattern(p, name));
    const selective = query.selectSubscribed || query.selectSpecialUse;
    const selected = this.selection(query);
    const found = new Map<string, ListEntry>();
    const entry = (name: string): ListEntry => {
      let e = found.get(name);
      if (!e) {
        e = { name, exists: this.exists(name), attributes: this.attributes(name, query), childInfo: null };
        found.set(name, e);
      }
      return e;
    };

    for (const name of selected) if (matches(name)) entry(name);

    // A level the patterns match, with a descendant they do not match: the client would not
    // learn about that branch otherwise. Plain LIST returns the level when it does not exist
    // ("%" rule, RFC 9051 6.3.9); RECURSIVEMATCH returns it with CHILDINFO (RFC 5258 3.5).
    for (const name of selected) {
      for (const level of ancestors(name)) {
        if (!matches(level) || matches(name)) continue;
        if (query.recursiveMatch) {
          const e = entry(level);
          e.childInfo = childInfo(query);
        } else if (!selective && !this.exists(level)) {
          entry(level);
        }
      }
    }
    return [...found.values()].sort((a, b) => compareNames(a.name, b.name));
  }

  /** LSUB (RFC 3501 6.3.9): subscribed names; a level above a hidden subscription is \Noselect. */
  lsub(patterns: string[]): ListEntry[] {
    const matches = (name: string): boolean => patterns.some((p) => matchesPattern(p, name));
    const found = new Map<string, ListEntry>();
    for (const name of this.subscribed) {
      if (matches(name)) {
        found.set(name, { name, exists: this.exists(name), attributes: this.exists(name) && !this.noSelect(name) ? [] : ['\\Noselect'], childInfo: null });
      }
    }
    for (const name of this.subscribed) {
      for (const level of ancestors(name)) {
        if (found.has(level)) continue;
        if (matches(level) && !matches(name)) {
          found.set(level, { name: level, exists: this.exists(level), attributes: ['\\Noselect'], childInfo: null });
        }
      }
    }
    return [...found.values()].sort((a, b) => compareNames(a.name, b.name));
  }

  /** Names satisfying the selection criteria (RFC 5258 3.1); several options all apply. */
  private selection(query: ListQuery): string[] {
    if (query.selectSubscribed) {
      return [...this.subscribed].filter((n) => !query.selectSpecialUse || this.specialUse(n) !== null);
    }
    const all = [...this.mailboxes.values()];
    return (query.selectSpecialUse ? all.filter((m) => m.specialUse !== null) : all).map((m) => m.name);
  }

  private attributes(name: string, query: ListQuery): string[] {
    const attrs: string[] = [];
    const exists = this.exists(name);
    if (!exists) attrs.push(query.extended ? '\\NonExistent' : '\\Noselect');
    else if (this.noSelect(name)) attrs.push('\\Noselect');
    // CHILDREN (RFC 3348) is advertised: the attributes come with every LIST.
    if (this.hasChildren(name)) attrs.push('\\HasChildren');
    else if (exists) attrs.push('\\HasNoChildren');
    if (query.returnSubscribed && this.isSubscribed(name)) attrs.push('\\Subscribed');
    // SPECIAL-USE attributes also in plain LIST (RFC 6154 allows it; Dovecot does so).
    const use = this.specialUse(name);
    if (use) attrs.push(use);
    return attrs;
  }
}

function childInfo(query: ListQuery): string[] {
  const out: string[] = [];
  if (query.selectSubscribed) out.push('SUBSCRIBED');
  if (query.selectSpecialUse) out.push('SPECIAL-USE');
  return out;
}
