#!/bin/sh
# prof-gw.sh BUILD BATCH [SECS]: perf profile of the gateway under wrk load
# (delivery parked), for finding where ingest CPU goes. Not part of make bench.
set -u
BUILD=$1; BATCH=${2:-100}; SECS=${3:-8}
. "$(dirname "$0")/gateway-lib.sh"
gl_need wrk perf
gl_gw_config "$GL_TMP/gw.ini" "$GL_TMP/data" http://127.0.0.1:9 "backoff_base = 60s"
gl_start_gw "$GL_TMP/gw.ini" "$GL_TMP/gw.log"
c0=$(gl_cpu_s $GW_PID)
perf record -F 1999 -g -o /tmp/gw.perf -p $GW_PID -- sleep $((SECS + 1)) >/dev/null 2>&1 &
pp=$!
wrk -t2 -c64 -d${SECS}s -s "$GL_SRC/ingest.lua" "$GW_URL/v1/events" -- "$GL_EVENT" $BATCH x $GL_KEY | grep -E 'Requests/sec|Latency|non-2xx'
c1=$(gl_cpu_s $GW_PID)
wait $pp
echo "gateway cpu: $(gl_calc "$c1 - $c0") s"
