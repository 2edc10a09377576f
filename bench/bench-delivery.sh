#!/bin/sh
# Delivery to a local fake Pinterest, end to end through a running gateway
# (design §6: >= 100k events/s, so that delivery is never the bottleneck).
#
# The fake is told to answer 503 (POST /_control/down) while N unique
# events (bench/event.json, 1000 per POST) are acknowledged by the
# gateway; then /_control/recover, and the drain is timed until the
# fake's /_stats counts every event accepted and the gateway's queue is
# empty. Reference in the same run: bench_deliver's "HTTP leg alone"
# (prebuilt batches through the same client into the same fake, no store),
# i.e. what the HTTP leg can carry on these cores.
#
#   sh bench/bench-delivery.sh BUILD_DIR
#   env: BENCH_DELIVERY_EVENTS (200000)
set -eu
BUILD=$(cd "$1" && pwd)
. "$(dirname "$0")/gateway-lib.sh"
gl_need curl python3 awk

N=${BENCH_DELIVERY_EVENTS:-200000}
N=$((N / 1000 * 1000))

echo "machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1); $(date -u +%Y-%m-%dT%H:%MZ)"
gl_start_fake bench_token
gl_gw_config "$GL_TMP/gw.ini" "$GL_TMP/var" "$FAKE_URL" \
	"backoff_base = 100ms
backoff_max = 200ms"
gl_start_gw "$GL_TMP/gw.ini" "$GL_TMP/gw.log"

gl_fake_ctl down
t0=$(gl_now_ms)
fill=$(gl_fill "$N" || true)
t1=$(gl_now_ms)
if ! gl_wait 60 sh -c "[ \"\$(curl -s '$GW_URL/v1/health' | sed -n 's/.*\"pending\":\([0-9]*\).*/\1/p')\" -ge $N ]"; then
	echo "preload failed: $fill"; gl_health; exit 1
fi
echo "preload: $N events acknowledged in $(gl_fmt %.1f "($t1 - $t0) / 1000") s while the fake answers 503 ($(gl_fmt %.0f "$N * 1000 / ($t1 - $t0)") events/s in 1000-event POSTs)"

# drain
gl_fake_ctl reset
g0=$(gl_cpu_s "$GW_PID"); f0=$(gl_cpu_s "$FAKE_PID")
t0=$(gl_now_ms)
gl_fake_ctl recover
first=; t_fake=
deadline=$((t0 + 300000))
while :; do
	now=$(gl_now_ms)
	acc=$(gl_fake_num unique_events)
	[ -z "$first" ] && [ "${acc:-0}" -gt 0 ] && first=$now
	if [ "${acc:-0}" -ge "$N" ]; then t_fake=$now; break; fi
	[ "$now" -gt "$deadline" ] && break
	sleep 0.05
done
gl_wait 60 sh -c "curl -s '$GW_URL/v1/health' | grep -q '\"pending\":0,\"in_flight\":0,'" || true
t_empty=$(gl_now_ms)
g1=$(gl_cpu_s "$GW_PID"); f1=$(gl_cpu_s "$FAKE_PID")
reqs=$(gl_fake_num requests)
dups=$(gl_fake_num duplicate_accepts)
if [ -z "$t_fake" ]; then
	echo "drain did not finish in 300 s: fake accepted $acc of $N"; gl_health; exit 1
fi
rate=$(gl_fmt %.0f "$N * 1000 / ($t_fake - $t0)")
rate_first=$(gl_fmt %.0f "$N * 1000 / ($t_fake - ${first:-$t0} + 1)")
echo "drain: $N events in $(gl_fmt %.2f "($t_fake - $t0) / 1000") s from recover to the fake's last accept," \
	"$reqs requests, $dups duplicates; queue empty after $(gl_fmt %.2f "($t_empty - $t0) / 1000") s"
echo "  pinbridge end to end: $rate events/s ($rate_first from the first accepted event)"
echo "  CPU per event: gateway $(gl_fmt %.1f "($g1 - $g0) * 1e6 / $N") us, fake $(gl_fmt %.1f "($f1 - $f0) * 1e6 / $N") us"
gl_stop_gw

# reference: the HTTP leg alone, same machine, same run
ref=$(timeout 600 "$BUILD/bench/bench_deliver" -n "$N" -p 800 -d "$GL_TMP" 2>&1 || true)
raw=$(echo "$ref" | sed -n 's/.*HTTP leg alone[^:]*: *\([0-9]*\) events.*/\1/p')
store_http=$(echo "$ref" | sed -n 's/.*HTTP to fake Pinterest on loopback: *\([0-9]*\) events.*/\1/p')
sink=$(echo "$ref" | sed -n 's/.*dry-run sink[^:]*: *\([0-9]*\) events.*/\1/p')
echo "  reference, bench_deliver -n $N -p 800: HTTP leg alone (client + fake, no store) ${raw:-?} events/s;" \
	"store + HTTP ${store_http:-?}; store + dry-run sink ${sink:-?}"
[ -n "$raw" ] && echo "  ratio end to end / HTTP leg alone: $(gl_fmt %.2f "$rate / $raw")"
echo "  target: >= 100000 events/s: $( [ "$rate" -ge 100000 ] && echo met || echo "NOT met")"
