#!/bin/sh
# Transform throughput of `pinbridge convert` on one core, against `jq -c .`
# (parse and re-serialize the same file, no normalization, no hashing) in
# the same run. Target (design §6): >= 250k events/s.
set -eu
build=$1
n=${BENCH_EVENTS:-200000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/bench/gen_events" "$n" 42 >"$tmp/events.ndjson"
bytes=$(wc -c <"$tmp/events.ndjson")

best() {
	# best wall time of 3 runs, in seconds, of "$@" pinned to CPU 0
	b=
	for _ in 1 2 3; do
		s=$(date +%s.%N)
		taskset -c 0 "$@" <"$tmp/events.ndjson" >/dev/null 2>&1 || true
		e=$(date +%s.%N)
		t=$(echo "$e - $s" | bc -l)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}

t_pb=$(best "$build/pinbridge" convert --now 1780000000 --quiet)
t_jq=$(best jq -c .)
eps_pb=$(echo "$n / $t_pb" | bc)
eps_jq=$(echo "$n / $t_jq" | bc)
ratio=$(echo "scale=2; $eps_pb / $eps_jq" | bc)
echo "events: $n messy events, $((bytes / n)) bytes each on average"
echo "pinbridge convert: $eps_pb events/s (1 core)"
echo "jq -c . (reference, same file, same run): $eps_jq events/s"
echo "ratio convert/jq: $ratio"
echo "target: >= 250000 events/s: $( [ "$eps_pb" -ge 250000 ] && echo met || echo NOT met)"
