#!/bin/sh
# Transform throughput of `pinbridge convert` on one core, against `jq -c .`
# (parse and re-serialize the same file, no normalization, no hashing) in
# the same run. Target (design §6): >= 250k events/s.
#
# Reports wall-clock rates (best of 3, pinned to CPU 0) and, because other
# work on a shared 2-core machine inflates wall time while the process
# waits for the CPU, also the best CPU time (user + sys) of the same runs.
set -eu
build=$1
n=${BENCH_EVENTS:-200000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/bench/gen_events" "$n" 42 >"$tmp/events.ndjson"
bytes=$(wc -c <"$tmp/events.ndjson")
have_time=$( [ -x /usr/bin/time ] && echo 1 || echo 0 )

# Sets $wall and $cpu to the best wall and CPU seconds of 3 runs of "$@".
best() {
	wall=
	cpu=
	for _ in 1 2 3; do
		s=$(date +%s.%N)
		if [ "$have_time" = 1 ]; then
			/usr/bin/time -f '%U %S' -o "$tmp/time" \
			    taskset -c 0 "$@" <"$tmp/events.ndjson" \
			    >/dev/null 2>&1 || true
		else
			taskset -c 0 "$@" <"$tmp/events.ndjson" >/dev/null \
			    2>&1 || true
		fi
		e=$(date +%s.%N)
		t=$(echo "$e - $s" | bc -l)
		if [ -z "$wall" ] || [ "$(echo "$t < $wall" | bc -l)" = 1 ]; then
			wall=$t
		fi
		if [ "$have_time" = 1 ]; then
			c=$(awk 'END { print $1 + $2 }' "$tmp/time")
			if [ -z "$cpu" ] || [ "$(echo "$c < $cpu" | bc -l)" = 1 ]; then
				cpu=$c
			fi
		fi
	done
}

best "$build/pinbridge" convert --now 1780000000 --quiet
t_pb=$wall
c_pb=$cpu
best jq -c .
t_jq=$wall
c_jq=$cpu
eps_pb=$(echo "$n / $t_pb" | bc)
eps_jq=$(echo "$n / $t_jq" | bc)
ratio=$(echo "scale=2; $eps_pb / $eps_jq" | bc)
echo "events: $n messy events, $((bytes / n)) bytes each on average"
echo "pinbridge convert: $eps_pb events/s (1 core)"
echo "jq -c . (reference, same file, same run): $eps_jq events/s"
echo "ratio convert/jq: $ratio"
if [ "$have_time" = 1 ] && [ "$(echo "$c_pb > 0 && $c_jq > 0" | bc)" = 1 ]; then
	echo "cpu time: pinbridge $(echo "$n / $c_pb" | bc) events/s" \
	    "($(echo "scale=2; $c_pb * 1000000 / $n" | bc) us/event)," \
	    "jq $(echo "$n / $c_jq" | bc) events/s;" \
	    "ratio $(echo "scale=2; $c_jq / $c_pb" | bc)"
fi
echo "target: >= 250000 events/s: $( [ "$eps_pb" -ge 250000 ] && echo met || echo NOT met)"
