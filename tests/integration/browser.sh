#!/bin/sh
# The browser leg end to end, in real headless Chromium: a shop page on
# 127.0.0.1 loads a stand-in for Pinterest's core.js and the gateway's
# /v1/tag.js, lands with ?epik=..., fires a checkout. The fake Pinterest
# must receive ONE event for the order: the browser's click id, IP and
# user agent merged with the server leg's identifiers and values.
# Chromium missing is a failure, not a skip: `make test` installs it.
. "$PB_SOURCE_ROOT/tests/integration/lib.sh"
data="$PB_SOURCE_ROOT/tests/data/browser"
UA="PinbridgeE2E/1.0 (headless chromium)"
TOKEN=pinterest_test_token_e2e
MERGE_WINDOW=10s

CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ]; then
	not_ok "chromium is installed" "Debian package chromium; make test installs it"
	done_testing
	exit 1
fi
ok "chromium is installed ($CHROMIUM)"

# Chromium runs under timeout(1) in the background so that the EXIT trap
# can stop it: timeout passes SIGTERM on to the browser.
CR_PID=
T_CLEANUP_HOOK="[ -n \"\$CR_PID\" ] && kill -TERM \$CR_PID 2>/dev/null; $T_CLEANUP_HOOK"

# chrome NAME URL: loads URL in a fresh profile, DOM into $T_TMP/NAME.html.
chrome() {
	profile=$(mktemp -d "$T_TMP/profile.XXXXXX")
	timeout -k 5 60 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync \
		--user-data-dir="$profile" --user-agent="$UA" \
		--virtual-time-budget=15000 --dump-dom "$2" \
		>"$T_TMP/$1.html" 2>"$T_TMP/$1.chromium.log" &
	CR_PID=$!
	wait "$CR_PID"
	rc=$?
	CR_PID=
	return $rc
}

# result NAME EXPR: evaluates a Python expression over the page's report
# (r = the JSON the page left in <pre id="result">); prints the value.
result() {
	python3 - "$T_TMP/$1.html" "$2" <<'PY'
import html, json, re, sys
m = re.search(r'<pre id="result">(.*?)</pre>', open(sys.argv[1]).read(), re.S)
r = json.loads(html.unescape(m.group(1))) if m else {}
v = eval(sys.argv[2], {"r": r})
print(v if isinstance(v, str) else json.dumps(v))
PY
}

# sent ID EXPR: evaluates EXPR over every event with event_id ID that the
# fake Pinterest recorded (es = list of those events); prints the value.
sent() {
	python3 - "$T_TMP/fake.ndjson" "$1" "$2" <<'PY'
import json, sys
es = []
for line in open(sys.argv[1]):
    for e in json.loads(line).get("data", []):
        if e.get("event_id") == sys.argv[2]:
            es.append(e)
v = eval(sys.argv[3], {"es": es})
print(v if isinstance(v, str) else json.dumps(v))
PY
}

# expect DESC GOT WANT
expect() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "got:  $2" "want: $3"
	fi
}

# ---- the fake Pinterest, the gateway, the shop's web server ----------------

start_fake --token "$TOKEN" || { not_ok "fake Pinterest starts"; done_testing; exit 1; }
printf '%s' "$TOKEN" >"$T_TMP/token"
echo "sk_test_server_key_123" >"$T_TMP/server.key"

# The shop: a static server on a free port; its origin must be allowed.
mkdir -p "$T_TMP/www"
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$T_TMP/www" \
	>"$T_TMP/www.log" 2>&1 &
WWW_PID=$!
T_PIDS="$T_PIDS $WWW_PID"
wait_until 10 grep -q 'port [0-9]' "$T_TMP/www.log" || { not_ok "web server starts" "$(cat "$T_TMP/www.log")"; done_testing; exit 1; }
WWW="http://127.0.0.1:$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$T_TMP/www.log" | head -1)"

mkdir -p "$T_TMP/var"
cat >"$T_TMP/gw.ini" <<CFG
[server]
listen = 127.0.0.1:0
data_dir = $T_TMP/var

[delivery]
api_base = $FAKE_URL
flush_delay = 50ms
backoff_base = 100ms
backoff_max = 1s
request_timeout = 5s

[account "shop"]
ad_account_id = 1234567890
token_file = $T_TMP/token
server_key_file = $T_TMP/server.key
browser_key = pk_test_browser_key
allowed_origins = $WWW
merge_window = $MERGE_WINDOW
CFG
start_gw "$T_TMP/gw.ini" || { not_ok "gateway starts"; done_testing; exit 1; }
ok "fake Pinterest, gateway and shop server are up"

for f in page.html blocked.html consent.html; do
	sed "s#@GW@#$GW_URL#g" "$data/$f" >"$T_TMP/www/$f"
done
cp "$data/core.js" "$data/report.js" "$T_TMP/www/"

# ---- GET /v1/tag.js ----------------------------------------------------------

curl -s -D "$T_TMP/tag.h" -o "$T_TMP/tag.js" "$GW_URL/v1/tag.js"
check "tag.js: 200" grep -q '^HTTP/1.1 200' "$T_TMP/tag.h"
check "tag.js: Content-Type application/javascript; charset=utf-8" \
	grep -qi '^Content-Type: application/javascript; charset=utf-8' "$T_TMP/tag.h"
check "tag.js: Cache-Control public, max-age=3600" \
	grep -qi '^Cache-Control: public, max-age=3600' "$T_TMP/tag.h"
check "tag.js: the body is web/tag.js" cmp -s "$T_TMP/tag.js" "$PB_SOURCE_ROOT/web/tag.js"
etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p' "$T_TMP/tag.h")
code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$GW_URL/v1/tag.js")
expect "tag.js: If-None-Match with its ETag gives 304" "$code" 304

# ---- the checkout page ---------------------------------------------------------

chrome page "$WWW/page.html?utm_source=pinterest&epik=EPIK-e2e_1.x"
check "chromium rendered the checkout page" grep -q 'id="result"' "$T_TMP/page.html"
expect "tag.js and the core.js stand-in loaded" "$(result page 'r["loaded"]')" true
expect "the page saw the user agent we gave chromium" "$(result page 'r["ua"]')" "$UA"
expect "_epik first-party cookie set from the landing URL" \
	"$(result page '[c for c in r["cookie"].split("; ") if c.startswith("_epik=")]')" \
	'["_epik=EPIK-e2e_1.x"]'
expect "pintrk got the checkout with event_id checkout:E2E-1" \
	"$(result page '[c[2].get("event_id") for c in r["pintrk_calls"] if c[:2] == ["track", "checkout"]]')" \
	'["checkout:E2E-1"]'
cart_id=$(result page '[c[2].get("event_id") for c in r["pintrk_calls"] if c[:2] == ["track", "AddToCart"]][0]')
check "pintrk got AddToCart with a UUIDv4 event_id ($cart_id)" \
	sh -c "echo '$cart_id' | grep -Eq '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'"

# The store's backend reports the same order, inside the merge window.
status=$(post '{"event_name":"checkout","order_id":"E2E-1","email":"Buyer@Example.com","value":"25.00","currency":"USD","external_id":"cust-42"}')
expect "server leg accepted (202)" "$status" 202
check "server leg merged into the pending browser leg" \
	grep -q '"event_id":"checkout:E2E-1","merged":true' "$T_TMP/resp"

# ---- pintrk blocked, consent declined, consent granted ----------------------

chrome blocked "$WWW/blocked.html?epik=EPIK-blocked"
expect "blocked: tag.js loaded although core.js did not" \
	"$(result blocked '[r["loaded"], r["pintrk_calls"]]')" '[true, null]'
expect "blocked: the checkout still went to the pintrk queue with its id" \
	"$(result blocked '[c[2]["event_id"] for c in r["pintrk_queue"] if c[0] == "track"]')" \
	'["checkout:E2E-B"]'

chrome deny "$WWW/consent.html?epik=EPIK-deny"
expect "consent declined: pintrk got no track call" \
	"$(result deny '[c[0] for c in r["pintrk_calls"]]')" '["load"]'
expect "consent declined: no _epik cookie written" \
	"$(result deny '"_epik=" in r["cookie"]')" false

chrome grant "$WWW/consent.html?grant=1&epik=EPIK-grant"
expect "consent pending: no _epik cookie before consent" \
	"$(result grant '"_epik=" in r["ids"]["before_consent_cookie"]')" false
expect "consent granted: the held checkout reached pintrk" \
	"$(result grant '[c[2]["event_id"] for c in r["pintrk_calls"] if c[0] == "track"]')" \
	'["checkout:E2E-D"]'
expect "consent granted: _epik written" \
	"$(result grant '"_epik=EPIK-grant" in r["cookie"]')" true

# ---- the gateway's own Set-Cookie -------------------------------------------

curl -s -D "$T_TMP/sc.h" -o /dev/null "$GW_URL/v1/events?key=pk_test_browser_key" \
	-H "Origin: $WWW" -H 'Content-Type: text/plain' -H "User-Agent: $UA" \
	-H 'Cookie: _epik=OLD' \
	--data-binary "{\"event_name\":\"lead\",\"event_id\":\"lead-sc-1\",\"event_source_url\":\"$WWW/landing?epik=NEWCLICK\"}"
check "a page URL with a new epik: the answer sets _epik (1 year, Lax, not HttpOnly)" \
	grep -q '^Set-Cookie: _epik=NEWCLICK; Max-Age=31536000; Path=/; SameSite=Lax' "$T_TMP/sc.h"
check "no HttpOnly on _epik" sh -c "! grep -qi 'HttpOnly' '$T_TMP/sc.h'"

# ---- what Pinterest received ---------------------------------------------------

wait_until 40 fake_accepted_at_least checkout:E2E-1 1
expect "Pinterest received checkout:E2E-1" "$(fake_received checkout:E2E-1)" 1
wait_until 30 fake_accepted_at_least checkout:E2E-B 1
wait_until 30 fake_accepted_at_least checkout:E2E-D 1
wait_until 30 fake_accepted_at_least "$cart_id" 1
# Give a second copy, if there were one, time to arrive.
sleep 1
expect "checkout:E2E-1 sent once: merged, not twice" \
	"$(sent checkout:E2E-1 'len(es)')" 1
expect "the event carries the click id from the landing URL" \
	"$(sent checkout:E2E-1 'es[0]["user_data"].get("click_id")')" "EPIK-e2e_1.x"
expect "the event carries the browser's IP (socket)" \
	"$(sent checkout:E2E-1 'es[0]["user_data"].get("client_ip_address")')" 127.0.0.1
expect "the event carries the browser's user agent" \
	"$(sent checkout:E2E-1 'es[0]["user_data"].get("client_user_agent")')" "$UA"
expect "the event carries the server leg's hashed email and external_id" \
	"$(sent checkout:E2E-1 '[len(es[0]["user_data"].get(k, [])) for k in ("em", "external_id")]')" '[1, 1]'
expect "the server leg's value wins over the browser's" \
	"$(sent checkout:E2E-1 'es[0]["custom_data"]["value"]')" 25.00
expect "the browser leg's page URL is kept" \
	"$(sent checkout:E2E-1 'es[0].get("event_source_url", "").endswith("epik=EPIK-e2e_1.x")')" true
expect "AddToCart reached Pinterest under the id pintrk got" \
	"$(sent "$cart_id" '[e["event_name"] for e in es]')" '["add_to_cart"]'
expect "pintrk blocked: the gateway leg still reached Pinterest, with its click id" \
	"$(sent checkout:E2E-B '[e["user_data"].get("click_id") for e in es]')" '["EPIK-blocked"]'
expect "consent granted: the held checkout reached Pinterest" \
	"$(sent checkout:E2E-D '[e["user_data"].get("click_id") for e in es]')" '["EPIK-grant"]'
expect "consent declined: nothing reached Pinterest" \
	"$(fake_received checkout:E2E-C)" 0

kill -TERM "$GW_PID" 2>/dev/null
wait "$GW_PID"
expect "gateway stops cleanly on SIGTERM" "$?" 0
check "no sanitizer report in the gateway log" \
	sh -c "! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error' '$T_TMP/gw.log'"
done_testing
