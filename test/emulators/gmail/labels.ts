// Gmail labels of one mailbox: the fixed system labels (id = name) and user labels
// ("Label_N", names nest with "/", unique regardless of case, not a system name).

import { badRequest, conflict, notFound } from './errors';

export const SYSTEM_LABELS = [
  'CHAT',
  'SENT',
  'INBOX',
  'IMPORTANT',
  'TRASH',
  'DRAFT',
  'SPAM',
  'CATEGORY_FORUMS',
  'CATEGORY_UPDATES',
  'CATEGORY_PERSONAL',
  'CATEGORY_PROMOTIONS',
  'CATEGORY_SOCIAL',
  'STARRED',
  'UNREAD',
] as const;

/** System labels that messages.modify may not add or remove (they follow from how the
 * message was made: sent, drafted, chatted). */
export const IMMUTABLE_SYSTEM_LABELS = new Set(['SENT', 'DRAFT', 'CHAT']);

export interface LabelColor {
  textColor?: string;
  backgroundColor?: string;
}

export interface StoredLabel {
  id: string;
  name: string;
  type: 'system' | 'user';
  messageListVisibility?: 'show' | 'hide';
  labelListVisibility?: 'labelShow' | 'labelShowIfUnread' | 'labelHide';
  color?: LabelColor;
}

export interface LabelCounts {
  messagesTotal: number;
  messagesUnread: number;
  threadsTotal: number;
  threadsUnread: number;
}

/** The writable fields of a Label request body (create, patch, update). */
export interface LabelInput {
  id?: string;
  name?: string;
  type?: string;
  messageListVisibility?: 'show' | 'hide';
  labelListVisibility?: 'labelShow' | 'labelShowIfUnread' | 'labelHide';
  color?: LabelColor;
  messagesTotal?: number;
  messagesUnread?: number;
  threadsTotal?: number;
  threadsUnread?: number;
}

const MAX_NAME = 225;

export class LabelStore {
  private readonly labels = new Map<string, StoredLabel>();
  private nextUserId = 1;

  constructor() {
    for (const id of SYSTEM_LABELS) this.labels.set(id, { id, name: id, type: 'system' });
  }

  all(): StoredLabel[] {
    return [...this.labels.values()];
  }

  get(id: string): StoredLabel | undefined {
    return this.labels.get(id);
  }

  require(id: string): StoredLabel {
    const l = this.labels.get(id);
    if (!l) throw notFound();
    return l;
  }

  byName(name: string): StoredLabel | undefined {
    const lower = name.toLowerCase();
    return this.all().find((l) => l.name.toLowerCase() === lower);
  }

  create(input: LabelInput): StoredLabel {
    const name = this.checkName(input.name, undefined);
    const label: StoredLabel = {
      id: `Label_${this.nextUserId++}`,
      name,
      type: 'user',
      messageListVisibility: input.messageListVisibility ?? 'show',
      labelListVisibility: input.labelListVisibility ?? 'labelShow',
    };
    if (input.color) label.color = { ...input.color };
    this.labels.set(label.id, label);
    return label;
  }

  /** PATCH merges the given fields; PUT (update) replaces them, so a name is required. */
  change(id: string, input: LabelInput, replace: boolean): StoredLabel {
    const label = this.require(id);
    if (label.type === 'system') throw badRequest('Invalid label update');
    if (input.id !== undefined && input.id !== id) throw badRequest('Label id in body does not match');
    if (replace || input.name !== undefined) label.name = this.checkName(input.name, label.id);
    if (replace) {
      label.messageListVisibility = input.messageListVisibility ?? 'show';
      label.labelListVisibility = input.labelListVisibility ?? 'labelShow';
      if (input.color) label.color = { ...input.color };
      else delete label.color;
    } else {
      if (input.messageListVisibility) label.messageListVisibility = input.messageListVisibility;
      if (input.labelListVisibility) label.labelListVisibility = input.labelListVisibility;
      if (input.color) label.color = { ...input.color };
    }
    return label;
  }

  delete(id: string): StoredLabel {
    const label = this.require(id);
    if (label.type === 'system') throw badRequest('Invalid delete request');
    this.labels.delete(id);
    return label;
  }

  private checkName(name: string | undefined, ownId: string | undefined): string {
    if (name === undefined || name.trim() === '') throw badRequest('Invalid label name');
    const trimmed = name.trim();
    if (trimmed.length > MAX_NAME || trimmed.startsWith('/') || trimmed.endsWith('/') || trimmed.includes('//')) {
      throw badRequest('Invalid label name');
    }
    if ((SYSTEM_LABELS as readonly string[]).some((s) => s.toLowerCase() === trimmed.toLowerCase())) throw badRequest('Invalid label name');
    const other = this.byName(trimmed);
    if (other && other.id !== ownId) throw conflict('Label name exists or conflicts');
    return trimmed;
  }

  /** The Label resource: list gives the short form, get adds the counts. */
  resource(label: StoredLabel, counts?: LabelCounts): Record<string, unknown> {
    const out: Record<string, unknown> = { id: label.id, name: label.name };
    if (label.messageListVisibility) out.messageListVisibility = label.messageListVisibility;
    if (label.labelListVisibility) out.labelListVisibility = label.labelListVisibility;
    out.type = label.type;
    if (counts) Object.assign(out, counts);
    if (label.color) out.color = { ...label.color };
    return out;
  }
}
