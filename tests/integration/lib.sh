# Shared helpers for integration scripts: TAP output and temp dirs.
# Usage: . "$PB_SOURCE_ROOT/tests/integration/lib.sh"

T_N=0
T_FAILED=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pinbridge-it.XXXXXX")
trap 't_cleanup' EXIT INT TERM

t_cleanup() {
	[ -n "${T_CLEANUP_HOOK:-}" ] && eval "$T_CLEANUP_HOOK"
	rm -rf "$T_TMP"
}

ok() {
	T_N=$((T_N + 1))
	echo "ok $T_N - $1"
}

not_ok() {
	T_N=$((T_N + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_N - $1"
	shift
	for line in "$@"; do echo "# $line"; done
}

# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	desc=$1; shift
	if "$@" >"$T_TMP/check.out" 2>&1; then
		ok "$desc"
	else
		not_ok "$desc" "command failed: $*" "$(head -c 2000 "$T_TMP/check.out")"
	fi
}

done_testing() {
	echo "1..$T_N"
	[ "$T_FAILED" -eq 0 ]
}

# ---- processes: the fake Pinterest and the gateway -------------------------

T_PIDS=
T_CLEANUP_HOOK='for p in $T_PIDS; do kill -9 $p 2>/dev/null; done'

# wait_until SECONDS COMMAND...: polls every 0.1 s; fails after SECONDS.
wait_until() {
	limit=$(($1 * 10)); shift
	i=0
	while [ $i -lt $limit ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

FAKE="${PB_BUILD_ROOT}/tests/helpers/fake-pinterest"

# start_fake [fake-pinterest options]: sets FAKE_PID and FAKE_URL.
start_fake() {
	rm -f "$T_TMP/fake.port"
	"$FAKE" --port 0 --port-file "$T_TMP/fake.port" --record "$T_TMP/fake.ndjson" \
		"$@" >"$T_TMP/fake.log" 2>&1 &
	FAKE_PID=$!
	T_PIDS="$T_PIDS $FAKE_PID"
	wait_until 10 test -s "$T_TMP/fake.port" || { echo "# fake did not start"; cat "$T_TMP/fake.log"; return 1; }
	FAKE_URL="http://127.0.0.1:$(cat "$T_TMP/fake.port")"
}

fake_ctl() {
	curl -s -X POST "$FAKE_URL/_control/$1" >/dev/null
}

# fake_received ID: how many times Pinterest got event ID.
fake_received() {
	curl -s "$FAKE_URL/_event?id=$1" | sed -n 's/.*"received":\([0-9]*\).*/\1/p'
}

fake_accepted_at_least() {
	n=$(curl -s "$FAKE_URL/_event?id=$1" | sed -n 's/.*"accepted":\([0-9]*\).*/\1/p')
	[ "${n:-0}" -ge "$2" ]
}

# gw_config FILE [extra lines for [delivery]]: a config for one account.
gw_config() {
	mkdir -p "$T_TMP/var"
	[ -f "$T_TMP/server.key" ] || echo "sk_test_server_key_123" >"$T_TMP/server.key"
	[ -f "$T_TMP/admin.token" ] || echo "admin_test_token" >"$T_TMP/admin.token"
	cat >"$1" <<CFG
[server]
listen = 127.0.0.1:0
data_dir = $T_TMP/var
admin_token_file = $T_TMP/admin.token
max_age = ${GW_MAX_AGE:-7d}

[delivery]
api_base = ${FAKE_URL:-http://127.0.0.1:9}
flush_delay = 50ms
backoff_base = 100ms
backoff_max = 1s
request_timeout = 5s
sink = $T_TMP/var/sink.ndjson

[account "shop"]
ad_account_id = 1234567890
${GW_TOKEN_LINE-token_file = $T_TMP/token}
server_key_file = $T_TMP/server.key
browser_key = pk_test_browser_key
allowed_origins = http://127.0.0.1, http://localhost
merge_window = ${GW_MERGE_WINDOW:-0}
CFG
}

# start_gw CONFIG: sets GW_PID and GW_URL (the gateway picks a free port).
start_gw() {
	: >"$T_TMP/gw.log"
	"$PINBRIDGE" serve -c "$1" >>"$T_TMP/gw.log" 2>&1 &
	GW_PID=$!
	T_PIDS="$T_PIDS $GW_PID"
	wait_until 10 grep -q 'listening on' "$T_TMP/gw.log" || { echo "# gateway did not start"; cat "$T_TMP/gw.log"; return 1; }
	GW_URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$T_TMP/gw.log" | tail -1)
}

stop_gw() {
	kill -TERM "$GW_PID" 2>/dev/null
	wait "$GW_PID" 2>/dev/null
}

# post BODY [curl options]: POST /v1/events with the server key; prints the
# HTTP status then the body on one line each into $T_TMP/resp.
post() {
	body=$1; shift
	curl -s -o "$T_TMP/resp" -w '%{http_code}' "$GW_URL/v1/events" \
		-H "Authorization: Bearer $(cat "$T_TMP/server.key")" \
		-H 'Content-Type: application/json' --data-binary "$body" "$@"
}

health_has() {
	curl -s "$GW_URL/v1/health" | grep -q "$1"
}
