#!/bin/sh
# ab-latency.sh RATE ROUNDS BUILD...: interleaved open-loop latency runs of
# single-event POSTs (bench/loadgen, 256 connections, 12 s with 2 s of
# warm-up, a fresh gateway per run, delivery parked) against each build in
# turn, ROUNDS times. Per run: the request percentiles, the generator's own
# send lag, and how many journal commits took over 4 and 8 ms (from the
# gateway's pinbridge_journal_commit_seconds histogram), to tell a slow
# disk from a busy CPU. GL_THREADS sets the HTTP worker threads.
#
#   sh bench/ab-latency.sh 13000 4 build-bench /tmp/other-build
set -u
RATE=$1; ROUNDS=$2; shift 2
. "$(dirname "$0")/gateway-lib.sh"
gl_need curl
r=1
while [ "$r" -le "$ROUNDS" ]; do
	for B in "$@"; do
		BUILD=$(cd "$B" && pwd)
		rm -rf "$GL_TMP/data"
		gl_gw_config "$GL_TMP/gw.ini" "$GL_TMP/data" http://127.0.0.1:9 \
		    "backoff_base = 60s"
		gl_start_gw "$GL_TMP/gw.ini" "$GL_TMP/gw.log"
		l=$("$BUILD/bench/loadgen" -p "$GW_PORT" -e "$GL_EVENT" \
		    -k "$GL_KEY" -r "$RATE" -c 256 -d 12 -w 2 -t "lat$$-$r")
		m=$(curl -s -H "Authorization: Bearer bench_admin" "$GW_URL/metrics")
		gl_stop_gw
		bucket() {
			echo "$m" | sed -n "s/^pinbridge_journal_commit_seconds_bucket{le=\"$1\"} //p"
		}
		n=$(bucket +Inf)
		echo "round $r $B: p50 $(gl_kv p50_ms "$l") p99 $(gl_kv p99_ms "$l")" \
		    "max $(gl_kv max_ms "$l") ms, send lag p99" \
		    "$(gl_kv send_lag_p99_ms "$l") ms; commits $n, over 4 ms" \
		    "$((n - $(bucket 0.004))), over 8 ms $((n - $(bucket 0.008)))"
	done
	r=$((r + 1))
done
