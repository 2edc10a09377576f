#!/bin/sh
# Memory and restart with a deep queue (design §6 and issue 3):
#
#   1. RSS of the gateway with N events waiting (default 1M), read 6 s
#      after the fill (serve trims its heap every 5 s): target
#      <= 64 MiB; reference: the same gateway's RSS with an empty queue,
#      read the same way (/proc/PID/status VmRSS, VmHWM, RssAnon, RssFile).
#   2. Restart with N events waiting, after SIGTERM and after SIGKILL: time
#      from exec to the first 200 from GET /v1/health (polled every 10 ms):
#      target <= 1 s; reference: the same restart with an empty queue.
#
# The queue is filled through POST /v1/events (1000 unique events per POST,
# bench/event.json) while the fake Pinterest answers 401, so the account is
# paused and every event stays pending: that RSS is the gateway's own
# (ingest, journal, SQLite cache, monitor ledger). Then the fake takes the
# right token but answers 503 (an outage): the account resumes, the
# delivery worker retries, and RSS is read again after 10 s.
#
#   sh bench/bench-memory.sh BUILD_DIR
#   env: BENCH_MEMORY_EVENTS (1000000)
set -eu
BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/gateway-lib.sh"
gl_need curl python3 awk

N=${BENCH_MEMORY_EVENTS:-1000000}
N=$((N / 1000 * 1000))
MIB=1024

mem() { # mem PID: "rss=KB hwm=KB anon=KB file=KB"
	awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } /^RssAnon:/ { a = $2 }
	     /^RssFile:/ { f = $2 } END { printf "rss=%d hwm=%d anon=%d file=%d", r, h, a, f }' \
		"/proc/$1/status"
}
mib() { gl_fmt %.1f "$1 / $MIB"; }
show_mem() { # LABEL LINE
	echo "  $1: VmRSS $(mib "$(gl_kv rss "$2")") MiB (anon $(mib "$(gl_kv anon "$2")"), file $(mib "$(gl_kv file "$2")")), VmHWM $(mib "$(gl_kv hwm "$2")") MiB"
}

# restart_ms SIGNAL: stops the gateway with SIGNAL, starts it again on the
# same port and data dir; sets RESTART_MS, from exec to the first 200 of
# /v1/health (not in a subshell: GW_PID must follow the new process).
restart_ms() {
	t0=$(gl_now_ms)
	gl_stop_gw "$1"
	STOP_MS=$(($(gl_now_ms) - t0))
	t0=$(gl_now_ms)
	"$BUILD/pinbridge" serve -c "$GL_TMP/gw.ini" >>"$GL_TMP/gw.log" 2>&1 &
	GW_PID=$!
	GL_PIDS="$GL_PIDS $GW_PID"
	if ! gl_wait 60 gl_health_200; then
		echo "gateway not serving 60 s after restart" >&2; tail "$GL_TMP/gw.log" >&2; exit 1
	fi
	RESTART_MS=$(($(gl_now_ms) - t0))
}

echo "machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1); $(date -u +%Y-%m-%dT%H:%MZ)"
gl_start_fake bench_token
gl_fake_ctl "token?value=another_token"
GL_GW_LISTEN_PORT=$(gl_free_port)
gl_gw_config "$GL_TMP/gw.ini" "$GL_TMP/var" "$FAKE_URL" \
	"backoff_base = 1s
backoff_max = 10s"
gl_start_gw "$GL_TMP/gw.ini" "$GL_TMP/gw.log"

# reference: empty queue
sleep 1
empty=$(mem "$GW_PID")
restart_ms TERM; r_empty_term=$RESTART_MS; s_empty_term=$STOP_MS
restart_ms KILL; r_empty_kill=$RESTART_MS

t0=$(gl_now_ms)
fill=$(gl_fill "$N" || true)
t1=$(gl_now_ms)
pending=$(gl_health_num pending)	# includes in_flight
if [ "${pending:-0}" -lt "$N" ]; then
	echo "fill failed: $fill; pending=$pending"; exit 1
fi
burst=$(mem "$GW_PID")
# serve hands freed heap back every 5 s (TRIM_INTERVAL_S): read after one
sleep 6
full=$(mem "$GW_PID")
state=$(gl_health | sed -n 's/.*"state":"\([a-z_]*\)".*/\1/p')
db=$(du -sk "$GL_TMP/var" | awk '{ print $1 }')
# outage: right token, 503s; SIGHUP resumes the account, the worker retries
gl_fake_ctl "token?value=bench_token"
gl_fake_ctl down
kill -HUP "$GW_PID"	# resumes accounts paused on 401
gl_wait 30 sh -c "curl -s '$GW_URL/v1/health' | grep -q '\"state\":\"backoff\"'" || true
sleep 10
outage=$(mem "$GW_PID")
leased=$(gl_health_num in_flight)
echo "queue: $N events acknowledged in $(gl_fmt %.1f "($t1 - $t0) / 1000") s ($(gl_fmt %.0f "$N * 1000 / ($t1 - $t0)") events/s in 1000-event POSTs), data dir $(mib "$db") MiB"
echo
echo "memory (/proc/PID/status):"
show_mem "empty queue (ref)" "$empty"
show_mem "$N waiting, right after the fill" "$burst"
show_mem "$N waiting, account $state (401)" "$full"
show_mem "$N waiting, 10 s into a 503 outage" "$outage"
echo "  rows leased by the delivery worker during the outage: $leased"
rss=$(gl_kv rss "$full"); rss2=$(gl_kv rss "$outage"); hwm=$(gl_kv hwm "$outage")
echo "  ratio VmRSS / empty queue: $(gl_fmt %.2f "$rss / $(gl_kv rss "$empty")") paused," \
	"$(gl_fmt %.2f "$rss2 / $(gl_kv rss "$empty")") in the outage"
v() { [ "$1" -le $((64 * MIB)) ] && echo met || echo "NOT met"; }
echo "  target: VmRSS <= 64 MiB: paused $(v "$rss"); outage $(v "$rss2"); VmHWM $(v "$hwm")"

echo
echo "restart, exec to first 200 from /v1/health:"
restart_ms TERM; r_full_term=$RESTART_MS; s_full_term=$STOP_MS
after=$(mem "$GW_PID")
restart_ms KILL; r_full_kill=$RESTART_MS
sleep 1
p2=$(gl_health_num pending)
echo "  empty queue (ref):  after SIGTERM $r_empty_term ms, after SIGKILL $r_empty_kill ms (SIGTERM to exit: $s_empty_term ms)"
echo "  $N waiting:    after SIGTERM $r_full_term ms, after SIGKILL $r_full_kill ms (SIGTERM to exit: $s_full_term ms)"
show_mem "RSS just after the restart" "$after"
echo "  queue after the restarts: $p2 events pending ($N acknowledged)"
worst=$r_full_term; [ "$r_full_kill" -gt "$worst" ] && worst=$r_full_kill
echo "  target: serving again <= 1000 ms (worst $worst ms): $( [ "$worst" -le 1000 ] && echo met || echo "NOT met")"
gl_stop_gw
