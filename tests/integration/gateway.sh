#!/bin/sh
# pinbridge serve against a fake Pinterest on 127.0.0.1: the delivery
# contract of issue 3, end to end, through real processes.
. "$PB_SOURCE_ROOT/tests/integration/lib.sh"

now=$(date +%s)
ev() {	# ev ID [extra JSON fields]
	printf '{"event_name":"checkout","event_id":"%s","email":"buyer@example.com","event_time":%s%s}' \
		"$1" "$now" "${2:+,$2}"
}

start_fake --token tok_good
echo tok_good >"$T_TMP/token"
gw_config "$T_TMP/gw.ini"
start_gw "$T_TMP/gw.ini"

# -- happy path ---------------------------------------------------------------
status=$(post "{\"events\":[$(ev ok-1),$(ev ok-2),$(ev ok-3)]}")
check "happy path: 202 for three events" test "$status" = 202
check "happy path: all three accepted" grep -q '"accepted":3' "$T_TMP/resp"
check "happy path: each reaches Pinterest" wait_until 10 sh -c \
	"[ \"\$(curl -s '$FAKE_URL/_event?id=ok-3' | grep -c '\"accepted\":1')\" = 1 ] && \
	 [ \"\$(curl -s '$FAKE_URL/_event?id=ok-1' | grep -c '\"accepted\":1')\" = 1 ]"
check "happy path: sent with the bearer token and hashed email" \
	sh -c "grep -q 'ok-2' '$T_TMP/fake.ndjson' && ! grep -q 'buyer@example.com' '$T_TMP/fake.ndjson'"
check "threads are named for top -H and perf" sh -c \
	"cat /proc/$GW_PID/task/*/comm | sort -u | tr '\\n' ' ' |
	 grep -q 'pb-checkpoint pb-commit pb-deliver pb-monitor'"

# -- idempotent by event_id ---------------------------------------------------
post "$(ev ok-1)" >/dev/null
check "a resent event_id is a duplicate, not a second delivery" \
	grep -q '"duplicate":true' "$T_TMP/resp"
sleep 0.5
check "Pinterest still received ok-1 once" test "$(fake_received ok-1)" = 1

# -- partial failure (422 with per-event results) ------------------------------
post "{\"events\":[$(ev fail-1),$(ev part-ok)]}" >/dev/null
check "partial failure: the good event is delivered" wait_until 10 fake_accepted_at_least part-ok 1
check "partial failure: the failed one becomes a dead letter" wait_until 10 sh -c \
	"'$PINBRIDGE' deadletters -c '$T_TMP/gw.ini' | grep -q 'fail-1 .*rejected'"

# -- 400: bisection isolates the bad event ------------------------------------
post "{\"events\":[$(ev bis-1),$(ev bis-2),$(ev bad-400),$(ev bis-3),$(ev bis-4)]}" >/dev/null
check "400: every good event of the batch is delivered" wait_until 15 sh -c \
	"for i in 1 2 3 4; do curl -s '$FAKE_URL/_event?id=bis-'\$i | grep -q '\"accepted\":1' || exit 1; done"
check "400: the bad event alone is dead (bad_request)" wait_until 10 sh -c \
	"'$PINBRIDGE' deadletters -c '$T_TMP/gw.ini' --event-id bad-400 | grep -q bad_request"

# -- 429 and 5xx: retried with backoff ----------------------------------------
fake_ctl "fail?status=429&count=2&retry_after=1"
fake_ctl "fail?status=503&count=1"
post "$(ev retry-1)" >/dev/null
check "429/503: delivered after retries" wait_until 20 fake_accepted_at_least retry-1 1
check "429/503: counted as retries" sh -c \
	"curl -s -H 'Authorization: Bearer admin_test_token' '$GW_URL/metrics' | grep -q 'outcome=\"retried\"} [1-9]'"
check "metrics: every commit is in the duration histogram" sh -c \
	"curl -s -H 'Authorization: Bearer admin_test_token' '$GW_URL/metrics' >'$T_TMP/metrics' &&
	 n=\$(sed -n 's/^pinbridge_journal_commit_seconds_count //p' '$T_TMP/metrics') &&
	 inf=\$(sed -n 's/^pinbridge_journal_commit_seconds_bucket{le=\"+Inf\"} //p' '$T_TMP/metrics') &&
	 ok=\$(sed -n 's/^pinbridge_journal_commits_total //p' '$T_TMP/metrics') &&
	 [ \"\$n\" -gt 0 ] && [ \"\$n\" = \"\$inf\" ] && [ \"\$n\" -ge \"\$ok\" ]"

# -- long outage, then a full drain -------------------------------------------
fake_ctl down
i=0; batch=
while [ $i -lt 200 ]; do batch="$batch${batch:+,}$(ev out-$i)"; i=$((i + 1)); done
status=$(post "{\"events\":[$batch]}")
check "outage: 200 events acknowledged while Pinterest is down" test "$status" = 202
sleep 2
check "outage: they wait in the queue" health_has '"pending":[1-9]'
fake_ctl recover
check "outage: all 200 drain once Pinterest is back" wait_until 30 sh -c \
	"for i in 0 57 123 199; do curl -s '$FAKE_URL/_event?id=out-'\$i | grep -q '\"accepted\":[1-9]' || exit 1; done; \
	 curl -s '$GW_URL/v1/health' | grep -q '\"pending\":0,'"

# -- replay a dead letter after the cause is fixed -----------------------------
fake_ctl "fail?status=400&count=1"
post "$(ev replay-1)" >/dev/null
check "replay: a single event refused with 400 is dead" wait_until 10 sh -c \
	"'$PINBRIDGE' deadletters -c '$T_TMP/gw.ini' --event-id replay-1 | grep -q bad_request"
"$PINBRIDGE" replay -c "$T_TMP/gw.ini" --event-id replay-1 >"$T_TMP/replay.out" 2>&1
check "replay: requeues exactly one" grep -q 'requeued 1 dead letter$' "$T_TMP/replay.out"
check "replay: then delivered" wait_until 10 fake_accepted_at_least replay-1 1
"$PINBRIDGE" replay -c "$T_TMP/gw.ini" >/dev/null 2>&1
check "replay without a filter or --all is refused (exit 2)" test $? -eq 2

# -- 401: pause, keep events, resume after the token is fixed ------------------
fake_ctl "token?value=tok_rotated"
post "$(ev auth-1)" >/dev/null
check "401: the account is paused" wait_until 10 health_has '"state":"paused"'
check "401: health says degraded" health_has '"status":"degraded"'
check "401: the event is kept, not dead" sh -c \
	"! '$PINBRIDGE' deadletters -c '$T_TMP/gw.ini' --event-id auth-1 | grep -q auth-1"
echo tok_rotated >"$T_TMP/token"
kill -HUP "$GW_PID"
check "401: after SIGHUP with the new token, delivered" wait_until 15 fake_accepted_at_least auth-1 1

# -- the drop-in endpoint ------------------------------------------------------
code=$(curl -s -o "$T_TMP/dropin" -w '%{http_code}' "$GW_URL/v5/ad_accounts/1234567890/events" \
	-H "Authorization: Bearer $(cat "$T_TMP/server.key")" -H 'Content-Type: application/json' \
	--data-binary "{\"data\":[{\"event_name\":\"checkout\",\"action_source\":\"web\",\"event_time\":$now,\"event_id\":\"drop-1\",\"user_data\":{\"em\":[\"87924606b4131a8aceeeae8868531fbb9712aaa07a5d3a756b26ce0f5d6ca674\"]}}]}")
check "drop-in: 200 in Pinterest's shape" sh -c \
	"[ $code = 200 ] && grep -q '\"num_events_received\":1,\"num_events_processed\":1' '$T_TMP/dropin'"
check "drop-in: delivered" wait_until 10 fake_accepted_at_least drop-1 1
code=$(curl -s -o "$T_TMP/dropin" -w '%{http_code}' "$GW_URL/v5/ad_accounts/1234567890/events" \
	-H "Authorization: Bearer $(cat "$T_TMP/server.key")" \
	--data-binary "{\"data\":[{\"event_name\":\"nope\",\"event_id\":\"d2\"}]}")
check "drop-in: all failed is a 422 DetailedError" sh -c \
	"[ $code = 422 ] && grep -q '\"code\":953' '$T_TMP/dropin' && grep -q '\"status\":\"failed\"' '$T_TMP/dropin'"
code=$(curl -s -o /dev/null -w '%{http_code}' "$GW_URL/v5/ad_accounts/1234567890/events" \
	-H "Authorization: Bearer wrong" --data-binary '{"data":[]}')
check "drop-in: a wrong key is 401" test "$code" = 401

# -- browser leg: the socket says who the client is, not the body --------------
bpost() {	# bpost ID [curl options]: a browser-key event from an allowed origin
	id=$1; shift
	curl -s -o "$T_TMP/resp" -w '%{http_code}' "$GW_URL/v1/events?key=pk_test_browser_key" \
		-H 'Origin: http://127.0.0.1' -H 'User-Agent: BrowserUA/1.0' "$@" \
		--data-binary "{\"event_name\":\"page_visit\",\"event_id\":\"$id\",\"client_ip_address\":\"10.6.6.6\"}"
}
code=$(bpost xff-1 -H 'X-Forwarded-For: 203.0.113.50')
check "browser key from an allowed origin: 202" test "$code" = 202
check "browser leg: IP from the socket, XFF ignored from an untrusted peer" wait_until 10 sh -c \
	"grep '\"xff-1\"' '$T_TMP/fake.ndjson' | grep -q '\"client_ip_address\":\"127.0.0.1\",\"client_user_agent\":\"BrowserUA/1.0\"'"
code=$(curl -s -o "$T_TMP/resp" -w '%{http_code}' "$GW_URL/v1/events?key=pk_test_browser_key" \
	-H 'Origin: https://evil.example' --data-binary '{"event_name":"lead","event_id":"evil"}')
check "browser key from another origin: 403 origin_not_allowed" sh -c \
	"[ $code = 403 ] && grep -q origin_not_allowed '$T_TMP/resp'"
code=$(curl -s -o /dev/null -D "$T_TMP/hdr" -w '%{http_code}' -X OPTIONS \
	"$GW_URL/v1/events?key=pk_test_browser_key" -H 'Origin: http://127.0.0.1' \
	-H 'Access-Control-Request-Method: POST')
check "CORS preflight from an allowed origin: 204 with the origin echoed" sh -c \
	"[ $code = 204 ] && grep -qi '^Access-Control-Allow-Origin: http://127.0.0.1' '$T_TMP/hdr'"
stop_gw
sed -i 's/^max_age = .*/&\ntrusted_proxies = 127.0.0.1/' "$T_TMP/gw.ini"
start_gw "$T_TMP/gw.ini"
bpost xff-2 -H 'X-Forwarded-For: 198.51.100.1, 203.0.113.51' >/dev/null
check "behind a trusted proxy: the right-most untrusted XFF hop is the client" wait_until 10 sh -c \
	"grep '\"xff-2\"' '$T_TMP/fake.ndjson' | grep -q '\"client_ip_address\":\"203.0.113.51\"'"

# -- request errors are JSON with stable codes ---------------------------------
code=$(post 'not json')
check "invalid JSON: 400 invalid_json" sh -c "[ $code = 400 ] && grep -q '\"code\":\"invalid_json\"' '$T_TMP/resp'"
code=$(curl -s -o "$T_TMP/resp" -w '%{http_code}' "$GW_URL/v1/events" --data-binary "$(ev x)")
check "no key: 401 unauthorized" sh -c "[ $code = 401 ] && grep -q '\"code\":\"unauthorized\"' '$T_TMP/resp'"
head -c 5000000 /dev/zero | tr '\0' ' ' >"$T_TMP/big"
code=$(post "@$T_TMP/big")
check "oversized body: 413 body_too_large" sh -c "[ $code = 413 ] && grep -q body_too_large '$T_TMP/resp'"
code=$(post "$(ev cookie-1)" -H "Cookie: big=$(head -c 8000 /dev/zero | tr '\0' x)")
check "an 8 KB cookie header is accepted" test "$code" = 202
code=$(curl -s -o "$T_TMP/resp" -w '%{http_code}' "$GW_URL/metrics")
check "metrics without the admin token: 401" test "$code" = 401
code=$(curl -s -o "$T_TMP/resp" -w '%{http_code}' "$GW_URL/v1/nope")
check "unknown route: 404 not_found" sh -c "[ $code = 404 ] && grep -q not_found '$T_TMP/resp'"

# -- expiry: an event that outlives max_age while Pinterest is down -------------
stop_gw
GW_MAX_AGE=1h gw_config "$T_TMP/gw-exp.ini"
start_gw "$T_TMP/gw-exp.ini"
fake_ctl down
status=$(post "$(printf '{"event_name":"lead","event_id":"exp-1","email":"a@b.co","event_time":%s}' $(($(date +%s) - 3597)))")
check "expiry: accepted while still inside max_age" test "$status" = 202
check "expiry: dead-lettered as expired instead of retried forever" wait_until 20 sh -c \
	"'$PINBRIDGE' deadletters -c '$T_TMP/gw-exp.ini' --event-id exp-1 | grep -q expired"
fake_ctl recover
stop_gw

# -- merge: server leg first, browser leg second, one delivery with both -------
GW_MERGE_WINDOW=2s gw_config "$T_TMP/gw-merge.ini"
start_gw "$T_TMP/gw-merge.ini"
post "$(ev merge-1 '"order_id":"M1"')" >/dev/null
curl -s -o /dev/null "$GW_URL/v1/events?key=pk_test_browser_key" -H 'Origin: http://127.0.0.1' \
	-H 'User-Agent: MergeUA/2.0' -H 'Cookie: _epik=dj0yMerge' \
	--data-binary '{"event_name":"Checkout","event_id":"merge-1","order_id":"M1"}'
check "merge: the event reaches Pinterest once" wait_until 15 fake_accepted_at_least merge-1 1
sleep 0.5
check "merge: exactly once" test "$(fake_received merge-1)" = 1
check "merge: with the server's email and the browser's click id, IP and UA" sh -c \
	"grep '\"merge-1\"' '$T_TMP/fake.ndjson' | grep '\"em\":\[' | grep '\"click_id\":\"dj0yMerge\"' | grep -q 'MergeUA/2.0'"
stop_gw

# -- a slow client (headers never finished) is cut off -------------------------
gw_config "$T_TMP/gw-slow.ini"
sed -i 's/^max_age = .*/&\nconnection_timeout = 2s/' "$T_TMP/gw-slow.ini"
start_gw "$T_TMP/gw-slow.ini"
check "a connection idle mid-request is closed after connection_timeout" python3 -c "
import socket, sys, time
port = int('${GW_URL##*:}')
s = socket.create_connection(('127.0.0.1', port))
s.sendall(b'POST /v1/events HTTP/1.1\\r\\nHost: x\\r\\n')
s.settimeout(8)
t = time.time()
try:
    data = s.recv(100)
except ConnectionResetError:
    data = b''
sys.exit(0 if data == b'' and 1 <= time.time() - t <= 7 else 1)
"
stop_gw

# -- SIGTERM drains cleanly ---------------------------------------------------
start_gw "$T_TMP/gw.ini"
stop_gw
check "SIGTERM: exits 0 and says so" sh -c \
	"wait $GW_PID 2>/dev/null; grep -q 'stopped cleanly' '$T_TMP/gw.log'"

# -- dry-run sink: no token, the exact bodies go to a file ----------------------
GW_TOKEN_LINE= gw_config "$T_TMP/gw-dry.ini"
start_gw "$T_TMP/gw-dry.ini"
ev dry-1 '"phone":"+1 (415) 555-0100","first_name":"Zebulon"' >"$T_TMP/resp.sent"
post "$(cat "$T_TMP/resp.sent")" >/dev/null
check "dry run: the sink gets a {\"data\":[...]} body" wait_until 10 grep -q '"event_id":"dry-1"' "$T_TMP/var/sink.ndjson"
check "dry run: health reports dry_run" health_has '"state":"dry_run"'
stop_gw

# -- no raw PII at rest or in logs ---------------------------------------------
ls "$T_TMP/var" >"$T_TMP/var.list"
check "PII scan covers the database and its WAL" grep -q 'pinbridge.db' "$T_TMP/var.list"
check "no raw PII in the database, WAL, sink, logs or what Pinterest got" sh -c \
	"! grep -raql -e 'buyer@example.com' -e 'Zebulon' -e 'zebulon' -e '4155550100' \
	  '$T_TMP/var' '$T_TMP/gw.log' '$T_TMP/fake.ndjson'"
check "the PII scan can see: the canary is in the request we sent" grep -q Zebulon "$T_TMP/resp.sent"
done_testing
