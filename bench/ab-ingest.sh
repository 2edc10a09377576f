#!/bin/sh
# ab-ingest.sh OLD_BUILD NEW_BUILD [ROUNDS] [CONNS] [SECS]: interleaved A/B
# of single-event POSTs (wrk, fresh gateway per run, delivery parked) for
# judging a change on a shared machine; prints each run and the ratio of
# the medians of requests/s and of gateway CPU per request (new / old).
# BATCH=100 posts {"events": [...100...]} instead (a request is then 100
# events).
set -eu
OLD=$(cd "$1" && pwd); NEW=$(cd "$2" && pwd)
ROUNDS=${3:-4}; CONNS=${4:-64}; SECS=${5:-6}; BATCH=${BATCH:-1}
. "$(dirname "$0")/gateway-lib.sh"
gl_need wrk
one() { # one BUILD TAG: "rps cpu_us"
	BUILD=$1
	rm -rf "$GL_TMP/data"
	gl_gw_config "$GL_TMP/gw.ini" "$GL_TMP/data" http://127.0.0.1:9 \
	    "backoff_base = 60s"
	gl_start_gw "$GL_TMP/gw.ini" "$GL_TMP/gw.log"
	c0=$(gl_cpu_s "$GW_PID")
	l=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --timeout 10s -s "$GL_SRC/ingest.lua" \
	    "$GW_URL/v1/events" -- "$GL_EVENT" "$BATCH" "$2" "$GL_KEY" | sed -n 's/^WRK //p')
	c1=$(gl_cpu_s "$GW_PID")
	gl_stop_gw
	[ "$(gl_kv non2xx "$l")" = 0 ] && [ "$(gl_kv sockerr "$l")" = 0 ] ||
	    echo "  !! not clean: $l" >&2
	req=$(gl_kv requests "$l")
	echo "$(gl_kv rps "$l") $(gl_fmt %.1f "($c1 - $c0) * 1e6 / $req")"
}
med() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: >"$GL_TMP/a"; : >"$GL_TMP/b"
r=1
while [ "$r" -le "$ROUNDS" ]; do
	a=$(one "$OLD" "a$r-$$"); b=$(one "$NEW" "b$r-$$")
	echo "round $r: old $a  new $b  (req/s, CPU us/req)"
	echo "$a" >>"$GL_TMP/a"; echo "$b" >>"$GL_TMP/b"
	r=$((r + 1))
done
ra=$(cut -d' ' -f1 "$GL_TMP/a" | med); rb=$(cut -d' ' -f1 "$GL_TMP/b" | med)
ca=$(cut -d' ' -f2 "$GL_TMP/a" | med); cb=$(cut -d' ' -f2 "$GL_TMP/b" | med)
echo "median req/s: old $ra new $rb ratio $(gl_fmt %.3f "$rb / $ra")"
echo "median CPU us/req: old $ca new $cb ratio $(gl_fmt %.3f "$cb / $ca")"
