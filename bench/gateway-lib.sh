# gateway-lib.sh: helpers shared by bench-ingest.sh, bench-delivery.sh and
# bench-memory.sh (sourced, not run: bench/run-all only runs bench-*.sh).
#
# Every process started here is remembered by PID and killed by PID on
# exit; every address is 127.0.0.1; every wait has a time limit.

GL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pb-bench-gw.XXXXXX")
GL_PIDS=
GL_SRC=$(cd "$(dirname "$0")" && pwd)
GL_KEY=sk_bench_server_key_0123
GL_EVENT="$GL_SRC/event.json"

gl_cleanup() {
	# nginx workers outlive a SIGKILLed master: kill them by PID first
	if [ -n "${NGINX_PID:-}" ]; then
		for p in $(pgrep -P "$NGINX_PID"); do kill -9 "$p" 2>/dev/null; done
	fi
	for p in $GL_PIDS; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$GL_TMP"
}
trap 'gl_cleanup' EXIT
trap 'exit 1' INT TERM HUP PIPE

gl_need() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || {
			echo "missing: $c (make bench installs it)"; exit 1; }
	done
}

gl_now_ms() { echo $(($(date +%s%N) / 1000000)); }

# gl_wait SECONDS COMMAND...: polls every 10 ms until COMMAND succeeds.
gl_wait() {
	limit=$(($1 * 100)); shift
	i=0
	while [ $i -lt $limit ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.01
		i=$((i + 1))
	done
	return 1
}

gl_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# gl_calc EXPR: floating point arithmetic through awk.
gl_calc() { awk "BEGIN { printf \"%s\", ($1) }" </dev/null; }
gl_fmt() { awk "BEGIN { printf \"$1\", ($2) }" </dev/null; }

# gl_kv KEY LINE: the value of KEY=VALUE in a line of figures.
gl_kv() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }

# CPU seconds (user + system) of a process and its threads so far.
gl_cpu_s() {
	awk -v hz="$(getconf CLK_TCK)" '{
		sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# ---- gateway -----------------------------------------------------------

# gl_gw_config FILE DATA_DIR API_BASE [extra [delivery] lines]
gl_gw_config() {
	mkdir -p "$2"
	echo "$GL_KEY" >"$GL_TMP/server.key"
	echo bench_token >"$GL_TMP/token"
	echo bench_admin >"$GL_TMP/admin.token"
	cat >"$1" <<CFG
[server]
listen = 127.0.0.1:${GL_GW_LISTEN_PORT:-0}
data_dir = $2
threads = ${GL_THREADS:-2}
admin_token_file = $GL_TMP/admin.token

[delivery]
api_base = $3
request_timeout = 5s
$4

[account "shop"]
ad_account_id = 1234567890
token_file = $GL_TMP/token
server_key_file = $GL_TMP/server.key
rate_limit = 1000000
CFG
}

# gl_start_gw CONFIG LOG: sets GW_PID, GW_PORT, GW_URL.
gl_start_gw() {
	: >"$2"
	"$BUILD/pinbridge" serve -c "$1" >>"$2" 2>&1 &
	GW_PID=$!
	GL_PIDS="$GL_PIDS $GW_PID"
	if ! gl_wait 30 grep -q 'listening on' "$2"; then
		echo "gateway did not start:"; cat "$2"; exit 1
	fi
	GW_URL=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$2" | tail -1)
	GW_PORT=${GW_URL##*:}
}

# gl_stop_gw [SIGNAL]: TERM by default; KILL after 30 s.
gl_stop_gw() {
	kill -"${1:-TERM}" "$GW_PID" 2>/dev/null || true
	i=0
	while kill -0 "$GW_PID" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
	kill -9 "$GW_PID" 2>/dev/null || true
	wait "$GW_PID" 2>/dev/null || true
}

gl_health() { curl -s --max-time 5 "$GW_URL/v1/health"; }

# gl_health_num FIELD: a number from /v1/health (one account).
gl_health_num() {
	gl_health | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}

gl_health_200() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
		"$GW_URL/v1/health")" = 200 ]
}

# gl_rss PID: "VmRSS_kB VmHWM_kB"
gl_rss() {
	awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { print r, h }' \
		"/proc/$1/status"
}

# ---- nginx: the static 204 reference --------------------------------------

# gl_start_nginx: sets NGINX_PID, NGINX_PORT, NGINX_URL.
gl_start_nginx() {
	NGINX_PORT=$(gl_free_port)
	d="$GL_TMP/nginx"
	mkdir -p "$d/logs"
	user=
	[ "$(id -u)" = 0 ] && user="user root root;"
	cat >"$d/nginx.conf" <<CONF
$user
worker_processes 2;
daemon off;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 10000000;
	keepalive_timeout 60s;
	client_max_body_size 10m;
	client_body_buffer_size 1m;
	client_body_temp_path $d/body;
	proxy_temp_path $d/proxy;
	fastcgi_temp_path $d/fastcgi;
	uwsgi_temp_path $d/uwsgi;
	scgi_temp_path $d/scgi;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		location / { return 204; }
	}
}
CONF
	nginx -p "$d" -c "$d/nginx.conf" >"$d/logs/stdout" 2>&1 &
	NGINX_PID=$!
	GL_PIDS="$GL_PIDS $NGINX_PID"
	NGINX_URL="http://127.0.0.1:$NGINX_PORT"
	if ! gl_wait 10 curl -sf -o /dev/null "$NGINX_URL/"; then
		echo "nginx did not start:"; cat "$d/logs/"*; exit 1
	fi
}

# CPU seconds of nginx: master and workers (children of NGINX_PID).
gl_nginx_cpu_s() {
	t=0
	for p in $NGINX_PID $(pgrep -P "$NGINX_PID"); do
		t=$(gl_calc "$t + $(gl_cpu_s "$p")")
	done
	echo "$t"
}

# ---- the fake Pinterest ---------------------------------------------------

# gl_start_fake TOKEN: sets FAKE_PID, FAKE_URL.
gl_start_fake() {
	rm -f "$GL_TMP/fake.port"
	"$BUILD/tests/helpers/fake-pinterest" --port 0 \
		--port-file "$GL_TMP/fake.port" --token "$1" \
		>"$GL_TMP/fake.log" 2>&1 &
	FAKE_PID=$!
	GL_PIDS="$GL_PIDS $FAKE_PID"
	if ! gl_wait 10 test -s "$GL_TMP/fake.port"; then
		echo "fake Pinterest did not start:"; cat "$GL_TMP/fake.log"; exit 1
	fi
	FAKE_URL="http://127.0.0.1:$(cat "$GL_TMP/fake.port")"
}

gl_fake_ctl() { curl -s --max-time 5 -X POST "$FAKE_URL/_control/$1" >/dev/null; }

# gl_fake_num FIELD: a counter from the fake's /_stats.
gl_fake_num() {
	curl -s --max-time 5 "$FAKE_URL/_stats" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"
}

# gl_fill N: N unique events through POST /v1/events in 1000-event batches
# (closed loop, 4 connections); prints the loadgen line.
gl_fill() {
	"$BUILD/bench/loadgen" -p "$GW_PORT" -e "$GL_EVENT" -k "$GL_KEY" \
		-r 0 -n $(($1 / 1000)) -b 1000 -c 4 -d 600 -t "fill$$"
}
