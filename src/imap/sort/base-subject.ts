// Base subject extraction (RFC 5256 2.1), used by SORT SUBJECT. The input is the Subject
// field with encoded words already decoded (step 1's decoding); the rest of the algorithm
// is here. The grammar, from RFC 5256 5:
//   subj-trailer = "(fwd)" / WSP
//   subj-leader  = (*subj-blob subj-refwd) / WSP
//   subj-refwd   = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
//   subj-blob    = "[" *BLOBCHAR "]" *WSP        BLOBCHAR: any char except "[" and "]"
//   subj-fwd-hdr = "[fwd:"   subj-fwd-trl = "]"

const TRAILER = /(?:\(fwd\)|[ \t])$/i;
const BLOB = /^\[[^[\]]*\][ \t]*/;
const REFWD = /^(?:re|fwd?)[ \t]*(?:\[[^[\]]*\][ \t]*)?:/i;

/** Step (2): trailing "(fwd)" and whitespace, repeatedly. */
function stripTrailers(s: string): string {
  let prev;
  do {
    prev = s;
    s = s.replace(TRAILER, '');
  } while (s !== prev);
  return s;
}

/** One subj-leader at the start (step 3), or null when there is none. */
function leaderLength(s: string): number {
  if (s.startsWith(' ') || s.startsWith('\t')) return 1;
  let i = 0;
  for (;;) {
    const refwd = REFWD.exec(s.slice(i));
    if (refwd) return i + refwd[0].length;
    const blob = BLOB.exec(s.slice(i));
    if (!blob) return 0;
    i += blob[0].length;
  }
}

export function baseSubject(decoded: string): string {
  // Step (1): tabs and line ends to spaces, runs of spaces to one.
  let s = decoded.replace(/[\t\r\n]/g, ' ').replace(/ {2,}/g, ' ');
  for (;;) {
    s = stripTrailers(s);
    // Steps (3)-(5): leaders and blobs until neither can be removed.
    for (;;) {
      const leader = leaderLength(s);
      if (leader > 0) {
        s = s.slice(leader);
        continue;
      }
      const blob = BLOB.exec(s);
      if (blob && blob[0].length < s.length) {
        s = s.slice(blob[0].length);
        continue;
      }
      break;
    }
    // Step (6): "[fwd: ... ]" around the whole subject.
    if (s.length >= 6 && s.slice(0, 5).toLowerCase() === '[fwd:' && s.endsWith(']')) {
      s = s.slice(5, -1);
      continue;
    }
    return s;
  }
}
