#!/bin/sh
# gw-threads.sh BUILD [BATCH] [SECS] [CONNS]: one wrk run against a fresh
# gateway (delivery parked); prints per-thread CPU and context switches per
# request, and journal commits, to see where the handoffs go.
set -eu
BUILD=$(cd "$1" && pwd); BATCH=${2:-1}; SECS=${3:-8}; CONNS=${4:-64}
. "$(dirname "$0")/gateway-lib.sh"
gl_need wrk
gl_gw_config "$GL_TMP/gw.ini" "$GL_TMP/data" http://127.0.0.1:9 "backoff_base = 60s"
gl_start_gw "$GL_TMP/gw.ini" "$GL_TMP/gw.log"
snap() {
	for t in /proc/$GW_PID/task/*; do
		printf '%s %s %s %s\n' "$(cat $t/comm | tr ' ' _)" "${t##*/}" \
		    "$(awk -v hz=$(getconf CLK_TCK) '{sub(/^.*\) /,""); print ($12+$13)/hz}' $t/stat)" \
		    "$(awk '/ctxt_switches/ {s += $2} END {print s}' $t/status)"
	done | sort -k2
}
snap >"$GL_TMP/s0"
out=$(wrk -t2 -c"$CONNS" -d${SECS}s -s "$GL_SRC/ingest.lua" "$GW_URL/v1/events" -- \
    "$GL_EVENT" "$BATCH" "t$$" "$GL_KEY")
snap >"$GL_TMP/s1"
req=$(echo "$out" | sed -n 's/^WRK //p' | tr ' ' '\n' | sed -n 's/^requests=//p')
echo "$out" | sed -n 's/^WRK //p'
curl -s -H "Authorization: Bearer bench_admin" "$GW_URL/metrics" |
    grep -E '^pinbridge_(journal|store)_[a-z_]*(commit|record|fsync)' || true
join -1 2 -2 2 "$GL_TMP/s0" "$GL_TMP/s1" | awk -v req="$req" '{
	cpu = $6 - $3; cs = $7 - $4
	if (cpu > 0 || cs > 0)
		printf "  %-16s cpu %6.2f s  %6.1f us/req  cs/req %.2f\n", $2, cpu, cpu * 1e6 / req, cs / req
	tc += cpu; tcs += cs }
	END { printf "  total            cpu %6.2f s  %6.1f us/req  cs/req %.2f\n", tc, tc * 1e6 / req, tcs / req }'
