#!/bin/sh
# Concurrency stress: 64 keep-alive connections of single events, then
# batches, against one gateway. It must stay up (under ASan in `make test`
# a use-after-free or race aborts it), answer every request 202, and
# deliver every acknowledged event exactly as many as were acknowledged.
. "$PB_SOURCE_ROOT/tests/integration/lib.sh"
LOADGEN="$PB_BUILD_ROOT/bench/loadgen"
# The load generator is a tool, not the code under test: no leak report
# from it (the gateway keeps whatever ASAN_OPTIONS the suite sets).
lg() { ASAN_OPTIONS=detect_leaks=0 "$LOADGEN" "$@"; }

start_fake --token tok
echo tok >"$T_TMP/token"
gw_config "$T_TMP/gw.ini"
start_gw "$T_TMP/gw.ini"
port=${GW_URL##*:}
key=$(cat "$T_TMP/server.key")

lg -p "$port" -e "$PB_SOURCE_ROOT/bench/event.json" -c 64 -d 4 -b 1 \
	-k "$key" -t single >"$T_TMP/lg1" 2>&1
lg -p "$port" -e "$PB_SOURCE_ROOT/bench/event.json" -c 16 -d 2 -b 50 \
	-k "$key" -t batch >"$T_TMP/lg2" 2>&1
kv() { sed -n "s/.* $1=\([0-9]*\).*/\1/p;s/^$1=\([0-9]*\).*/\1/p" "$2" | head -1; }
req1=$(kv requests "$T_TMP/lg1"); ok1=$(kv ok "$T_TMP/lg1")
req2=$(kv requests "$T_TMP/lg2"); ok2=$(kv ok "$T_TMP/lg2")
echo "# single: $(cat "$T_TMP/lg1")"
echo "# batch:  $(cat "$T_TMP/lg2")"
check "the gateway survived the load" kill -0 "$GW_PID"
check "single events: many requests ($req1), every one answered 202" \
	sh -c "[ ${req1:-0} -ge 500 ] && [ '$req1' = '$ok1' ]"
check "batches: every request answered 202 ($req2)" \
	sh -c "[ ${req2:-0} -ge 20 ] && [ '$req2' = '$ok2' ]"
acked=$((ok1 + ok2 * 50))
check "every acknowledged event is delivered ($acked)" wait_until 90 sh -c \
	"curl -s '$FAKE_URL/_stats' | grep -q '\"unique_events\":$acked[,}]'"
check "no sanitizer report in the gateway log" sh -c \
	"! grep -qE 'AddressSanitizer|ThreadSanitizer|runtime error|double free|corrupted' '$T_TMP/gw.log'"
stop_gw
check "clean stop after the load" grep -q 'stopped cleanly' "$T_TMP/gw.log"
done_testing
