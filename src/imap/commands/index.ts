// The command table: every IMAP command memgate implements, by name (UID variants as
// "UID FETCH" etc.). A command missing here is answered BAD "Unknown command".
import type { Command } from './types';
import capability from './capability';
import noop from './noop';
import logout from './logout';
import starttls from './starttls';
import login from './login';
import authenticate from './authenticate';
import id from './id';
import enable from './enable';
import namespace from './namespace';
import { select, examine } from './select';
import create from './create';
import deleteMailbox from './delete';
import rename from './rename';
import { subscribe, unsubscribe } from './subscribe';
import list from './list';
import lsub from './lsub';
import status from './status';
import append from './append';
import idle from './idle';
import check from './check';
import close from './close';
import unselect from './unselect';
import { expunge, uidExpunge } from './expunge';
import { store, uidStore } from './store';
import { copy, uidCopy } from './copy';
import { move, uidMove } from './move';
import { search, uidSearch } from './search';
import { fetch, uidFetch } from './fetch';
import { sort, uidSort } from './sort';
import compress from './compress';
import unauthenticate from './unauthenticate';
import genurlauth from './genurlauth';
import resetkey from './resetkey';
import urlfetch from './urlfetch';

export type { CommandResult } from './types';

const ALL: Array<Command<unknown>> = [
  capability,
  noop,
  logout,
  starttls,
  login,
  authenticate,
  id,
  enable,
  namespace,
  select,
  examine,
  create,
  deleteMailbox,
  rename,
  subscribe,
  unsubscribe,
  list,
  lsub,
  status,
  append,
  idle,
  check,
  close,
  unselect,
  expunge,
  uidExpunge,
  store,
  uidStore,
  copy,
  uidCopy,
  move,
  uidMove,
  search,
  uidSearch,
  fetch,
  uidFetch,
  sort,
  uidSort,
  compress,
  unauthenticate,
  genurlauth,
  resetkey,
  urlfetch,
];

export const COMMANDS: ReadonlyMap<string, Command<unknown>> = new Map(ALL.map((c) => [c.name, c]));
