#!/bin/sh
# pinbridge convert: golden output, exit codes, batching, limits.
. "$PB_SOURCE_ROOT/tests/integration/lib.sh"
data="$PB_SOURCE_ROOT/tests/data/convert"
NOW=2026-05-28T20:26:40Z

"$PINBRIDGE" convert --now "$NOW" "$data/input.ndjson" >"$T_TMP/out" 2>"$T_TMP/err"
status=$?
check "exit status 1 when some lines are rejected" test "$status" -eq 1
check "one output line per input line" \
	test "$(wc -l <"$T_TMP/out")" -eq "$(wc -l <"$data/input.ndjson")"
if diff -u "$data/expected.ndjson" "$T_TMP/out" >"$T_TMP/diff"; then
	ok "output matches the golden file"
else
	not_ok "output matches the golden file" "$(head -40 "$T_TMP/diff")"
fi
check "warnings carry file and line number" \
	grep -q 'input.ndjson:8: warning: .*milliseconds' "$T_TMP/err"
check "summary counts read, converted, rejected by reason" \
	grep -q 'read 10, converted 4, rejected 6,.*unknown_event_name 1' "$T_TMP/err"
check "raw email never appears in output" sh -c "! grep -q 'gmail' '$T_TMP/out'"
check "raw email never appears in warnings" sh -c "! grep -qi 'gmail' '$T_TMP/err'"

# Same input, same --now: same bytes (event ids are derived, not random).
"$PINBRIDGE" convert --now "$NOW" "$data/input.ndjson" >"$T_TMP/out2" 2>/dev/null
check "deterministic with --now" cmp -s "$T_TMP/out" "$T_TMP/out2"

# stdin works like a file.
head -1 "$data/input.ndjson" | "$PINBRIDGE" convert --now "$NOW" >"$T_TMP/one" 2>/dev/null
check "stdin, exit 0 when all convert" test $? -eq 0
check "stdin output equals file output" sh -c "head -1 '$T_TMP/out' | cmp -s - '$T_TMP/one'"

# --batch wraps events into request bodies of at most N.
"$PINBRIDGE" convert --now "$NOW" --batch 3 "$data/input.ndjson" >"$T_TMP/batch" 2>"$T_TMP/batch.err"
check "batch: two bodies for four events" test "$(wc -l <"$T_TMP/batch")" -eq 2
check "batch: bodies are {\"data\":[...]} JSON" sh -c \
	"python3 -c 'import json,sys
for l in open(sys.argv[1]): d=json.loads(l); assert list(d)==[\"data\"] and 1<=len(d[\"data\"])<=3' '$T_TMP/batch'"
check "batch: errors go to stderr with line numbers" \
	grep -q 'input.ndjson:4: error: unknown_event_name' "$T_TMP/batch.err"

# --max-age lets an old file through.
echo '{"event_name":"lead","event_time":1700000000,"email":"x@y.co","event_id":"old"}' |
	"$PINBRIDGE" convert --now "$NOW" --max-age 1000 >/dev/null 2>&1
check "--max-age 1000 accepts a 925-day-old event" test $? -eq 0

# Usage and I/O errors exit 2 and name the problem.
"$PINBRIDGE" convert --batch 5000 </dev/null >/dev/null 2>"$T_TMP/e1"
check "--batch above 1000 is a usage error" test $? -eq 2
"$PINBRIDGE" convert --now tomorrow </dev/null >/dev/null 2>"$T_TMP/e2"
check "bad --now is a usage error" test $? -eq 2
"$PINBRIDGE" convert /nonexistent/file >/dev/null 2>"$T_TMP/e3"
check "missing file exits 2" test $? -eq 2
check "missing file is named" grep -q '/nonexistent/file' "$T_TMP/e3"

# A line over the limit is rejected without being stored.
python3 -c "print('{\"event_name\":\"lead\",\"x\":\"' + 'a'*1100000 + '\"}'); print('{\"event_name\":\"lead\",\"email\":\"a@b.co\",\"event_id\":\"after\"}')" |
	"$PINBRIDGE" convert --now "$NOW" >"$T_TMP/long" 2>/dev/null
check "over-long line rejected, next line converted" sh -c \
	"head -1 '$T_TMP/long' | grep -q line_too_long && tail -1 '$T_TMP/long' | grep -q '\"event_id\":\"after\"'"
done_testing
