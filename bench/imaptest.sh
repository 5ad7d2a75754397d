#!/usr/bin/env bash
# Runs Dovecot's imaptest scripted conformance tests against an IMAP server that is already
# listening (normally memgate), and prints the pass/fail summary. imaptest itself is built
# outside this repository: see docs/imaptest.md.
#
# Usage:
#   bench/imaptest.sh [IMAPTEST_BIN [TESTS] [extra imaptest args...]]
# Environment (arguments win over environment):
#   IMAPTEST_BIN     path to the imaptest binary
#   IMAPTEST_TESTS   a tests folder (imaptest source: src/tests) or a single test file
#   IMAP_HOST        default 127.0.0.1
#   IMAP_PORT        default 143
#   IMAP_USER        default testuser
#   IMAP_PASS        default testpass
#   IMAPTEST_LOG     where imaptest's full output goes (default: a temp file, path printed)
#   IMAPTEST_TIMEOUT seconds before imaptest is stopped (default 900)
# Exit status: 0 when no test group failed, 1 when some failed, 2 when imaptest did not run
# to its summary.
set -uo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac

BIN="${1:-${IMAPTEST_BIN:-}}"
TESTS="${2:-${IMAPTEST_TESTS:-}}"
if [ $# -gt 2 ]; then shift 2; else shift $#; fi
HOST="${IMAP_HOST:-127.0.0.1}"
PORT="${IMAP_PORT:-143}"
USER_NAME="${IMAP_USER:-testuser}"
PASS="${IMAP_PASS:-testpass}"
TIMEOUT="${IMAPTEST_TIMEOUT:-900}"

if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
  echo "imaptest binary not found or not executable: '${BIN}' (set IMAPTEST_BIN or pass it first)" >&2
  usage >&2; exit 2
fi
if [ -z "$TESTS" ] || [ ! -e "$TESTS" ]; then
  echo "imaptest tests not found: '${TESTS}' (set IMAPTEST_TESTS or pass it second)" >&2
  usage >&2; exit 2
fi

# Is anything listening, and does it greet like an IMAP server?
probe_greeting() {
  local line=""
  exec 3<>"/dev/tcp/$HOST/$PORT" || return 1
  IFS= read -r -t 5 line <&3 || true
  exec 3<&- 3>&-
  printf '%s' "${line%$'\r'}"
}
greeting="$(probe_greeting 2>/dev/null)" || greeting=""
if [[ "$greeting" != "* OK"* && "$greeting" != "* PREAUTH"* ]]; then
  echo "no IMAP greeting from $HOST:$PORT (got: '${greeting:-nothing}'); start memgate first" >&2
  exit 2
fi

LOG="${IMAPTEST_LOG:-$(mktemp "${TMPDIR:-/tmp}/imaptest.XXXXXX.log")}"
echo "== imaptest against $HOST:$PORT as $USER_NAME"
echo "   binary: $BIN"
echo "   tests:  $TESTS"
echo "   log:    $LOG"

start=$(date +%s)
timeout "$TIMEOUT" "$BIN" host="$HOST" port="$PORT" user="$USER_NAME" pass="$PASS" \
  test="$TESTS" "$@" >"$LOG" 2>&1
rc=$?
elapsed=$(( $(date +%s) - start ))

# imaptest ends a scripted run with:
#   N test groups: F failed, S skipped due to missing capabilities
#   base protocol: x/y individual commands failed
#   extensions: x/y individual commands failed
summary="$(grep -E '^[0-9]+ test groups: [0-9]+ failed, [0-9]+ skipped' "$LOG" | tail -n 1)"
if [ -z "$summary" ]; then
  echo "imaptest ended (exit $rc, ${elapsed}s) without its summary; last lines:" >&2
  tail -n 20 "$LOG" >&2
  exit 2
fi

# Names of failed test groups, as imaptest reports them ("*** Test NAME command ...").
failed_names="$(grep -oE '^\*\*\* Test [^ ]+' "$LOG" | awk '{print $3}' | sort -u)"
if [ -n "$failed_names" ]; then
  echo "-- failed test groups:"
  echo "$failed_names" | sed 's/^/   /'
fi

read -r total failed skipped < <(echo "$summary" |
  sed -E 's/^([0-9]+) test groups: ([0-9]+) failed, ([0-9]+) skipped.*/\1 \2 \3/')
passed=$(( total - failed - skipped ))
echo "-- imaptest summary (${elapsed}s):"
grep -E '^([0-9]+ test groups:|base protocol:|extensions:)' "$LOG" | sed 's/^/   /'
echo "imaptest: $passed passed, $failed failed, $skipped skipped"

[ "$failed" -eq 0 ] && exit 0 || exit 1
