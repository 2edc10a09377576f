#!/bin/sh
# backtest.sh: `pinbridge backtest` on generated NDJSON: the monitoring
# seed's worked example (the browser's event_id format changes at 15:05)
# must fire dedup_rate_low by 15:40 and resolve after the fix; thresholds
# and exit statuses behave as documented. Emits TAP.
set -u
: "${PINBRIDGE:?}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pb-backtest.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { if eval "$2"; then ok "$1"; else notok "$1"; fi; }

echo "1..12"

# 11:00-18:00 UTC on 2026-06-18, an order every 6 s; 80% reach the
# browser leg, 96% the server leg (5-95 s later). From 15:05 to 16:35 the
# browser sends "ord_<n>_v2" instead of the shared "checkout:<n>".
awk 'BEGIN {
	x = 42
	start = 1781780400; brk = 1781795100; fix = 1781800500
	for (t = start; t < start + 7 * 3600; t += 6) {
		n++
		x = (x * 16807) % 2147483647; rb = x / 2147483647
		x = (x * 16807) % 2147483647; rs = x / 2147483647
		x = (x * 16807) % 2147483647; lag = 5 + int(90 * x / 2147483647)
		ud = "\"user_data\":{\"em\":[\"u" n "@example.com\"]}"
		cd = "\"custom_data\":{\"order_id\":\"" n "\",\"value\":\"25.00\",\"currency\":\"GBP\"}"
		if (rb < 0.80) {
			id = (t >= brk && t < fix) ? "ord_" n "_v2" : "checkout:" n
			printf "{\"event_name\":\"checkout\",\"event_time\":%d,\"event_id\":\"%s\",\"action_source\":\"web\",%s,%s,\"source\":\"browser\"}\n", t, id, ud, cd
		}
		if (rs < 0.96)
			printf "{\"event_name\":\"checkout\",\"event_time\":%d,\"event_id\":\"checkout:%d\",\"action_source\":\"web\",%s,%s,\"source\":\"server\",\"received_at\":%d}\n", t, n, ud, cd, t + lag
	}
}' > "$tmp/events.ndjson"

"$PINBRIDGE" backtest --account shop "$tmp/events.ndjson" >"$tmp/out" 2>"$tmp/err"
rc=$?
check "backtest exits 0 on clean input (got $rc)" '[ "$rc" -eq 0 ]'
check "nothing on stderr" '[ ! -s "$tmp/err" ]'

fire=$(grep '"alert":"dedup_rate_low","state":"firing"' "$tmp/out")
at=$(printf '%s\n' "$fire" | sed -n 's/.*"at":"\([^"]*\)".*/\1/p')
check "dedup_rate_low fires once" '[ "$(printf "%s\n" "$fire" | grep -c .)" -eq 1 ]'
check "it fires between 15:30 and 15:40 (at $at)" \
    '[ -n "$at" ] && [ "$at" \> "2026-06-18T15:29:59Z" ] && [ "$at" \< "2026-06-18T15:40:01Z" ]'
check "the line carries account, event_name, value and threshold" \
    'printf "%s\n" "$fire" | grep -q "\"account\":\"shop\",\"event_name\":\"checkout\",\"value\":0\(\.[0-4][0-9]*\)\{0,1\},\"threshold\":0\.7[,}]"'
check "the id-mismatch examples show the new id format" \
    'printf "%s\n" "$fire" | grep -q "\"browser_event_id\":\"ord_[0-9]*_v2\",\"server_event_id\":\"checkout:[0-9]*\""'
res=$(grep '"alert":"dedup_rate_low","state":"resolved"' "$tmp/out" | sed -n 's/.*"at":"\([^"]*\)".*/\1/p')
check "it resolves after the 16:35 fix, before 17:05 (at $res)" \
    '[ -n "$res" ] && [ "$res" \> "2026-06-18T16:35:00Z" ] && [ "$res" \< "2026-06-18T17:05:00Z" ]'
check "no other alert (2 transitions, then the summary)" \
    '[ "$(grep -c "\"alert\":" "$tmp/out")" -eq 2 ] && tail -n 1 "$tmp/out" | grep -q "^{\"summary\":{.*\"transitions\":2,\"fired\":1,\"still_firing\":\[\]}}$"'

"$PINBRIDGE" backtest --dedup-threshold 0.03 --account shop "$tmp/events.ndjson" >"$tmp/out2" 2>&1
check "a lower --dedup-threshold silences it" \
    '[ "$(grep -c "\"alert\":" "$tmp/out2")" -eq 0 ] && grep -q "\"summary\"" "$tmp/out2"'

"$PINBRIDGE" backtest --window 3h --account shop "$tmp/events.ndjson" >"$tmp/out3" 2>&1
check "a --window longer than the break never fires" \
    '[ "$(grep -c "\"alert\":" "$tmp/out3")" -eq 0 ]'

{ head -n 50 "$tmp/events.ndjson"; echo 'not json'; echo '{"event_name":"checkout","event_time":1781780400,"user_data":{"em":["a@b.c"]}}'; } >"$tmp/bad.ndjson"
"$PINBRIDGE" backtest "$tmp/bad.ndjson" >"$tmp/out4" 2>"$tmp/err4"
rc=$?
check "rejected lines: exit 1, reported on stderr with line numbers (got $rc)" \
    '[ "$rc" -eq 1 ] && grep -q "bad.ndjson:51: invalid_json" "$tmp/err4" && grep -q "bad.ndjson:52: missing_source" "$tmp/err4" && grep -q "\"rejected\":2" "$tmp/out4"'

"$PINBRIDGE" backtest --grace nonsense "$tmp/events.ndjson" >/dev/null 2>&1
rc1=$?
"$PINBRIDGE" backtest "$tmp/missing.ndjson" >/dev/null 2>&1
rc2=$?
check "usage and I/O errors exit 2 (got $rc1, $rc2)" '[ "$rc1" -eq 2 ] && [ "$rc2" -eq 2 ]'

[ "$fails" -eq 0 ]
