#!/bin/sh
# SIGKILL under load loses no acknowledged event: four clients post single
# events while the gateway is killed with SIGKILL again and again; after a
# final restart and drain, every event that got a 202 must have reached the
# fake Pinterest.
. "$PB_SOURCE_ROOT/tests/integration/lib.sh"

KILLS=${CRASH_KILLS:-6}
CLIENTS=4

start_fake --token tok
echo tok >"$T_TMP/token"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
gw_config "$T_TMP/gw.ini"
sed -i "s/^listen = .*/listen = 127.0.0.1:$port/" "$T_TMP/gw.ini"
start_gw "$T_TMP/gw.ini"
key=$(cat "$T_TMP/server.key")

# client N: posts events c<N>-<i> until $T_TMP/stop exists, logging acks.
client() {
	i=0
	while [ ! -f "$T_TMP/stop" ] && [ $i -lt 5000 ]; do
		id="c$1-$i"
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
			"http://127.0.0.1:$port/v1/events" -H "Authorization: Bearer $key" \
			--data-binary "{\"event_name\":\"checkout\",\"event_id\":\"$id\",\"email\":\"c@example.com\"}")
		[ "$code" = 202 ] && echo "$id" >>"$T_TMP/acked.$1"
		i=$((i + 1))
	done
}

c=1
while [ $c -le $CLIENTS ]; do
	client $c &
	T_PIDS="$T_PIDS $!"
	CLIENT_PIDS="${CLIENT_PIDS:-} $!"
	c=$((c + 1))
done

k=0
while [ $k -lt "$KILLS" ]; do
	sleep 0.8
	kill -9 "$GW_PID"
	wait "$GW_PID" 2>/dev/null
	start_gw "$T_TMP/gw.ini" || break
	k=$((k + 1))
done
touch "$T_TMP/stop"
# shellcheck disable=SC2086
wait $CLIENT_PIDS 2>/dev/null

cat "$T_TMP"/acked.* 2>/dev/null | sort -u >"$T_TMP/acked"
acked=$(wc -l <"$T_TMP/acked")
check "the gateway was killed $KILLS times" test "$k" -eq "$KILLS"
check "clients got acknowledgements across the kills (got $acked)" test "$acked" -ge 200

# Drain: wait until nothing is pending, leases of killed workers included.
check "after the last restart the queue drains" wait_until 120 health_has '"pending":0,'
grep -o '"event_id":"c[0-9]*-[0-9]*"' "$T_TMP/fake.ndjson" | cut -d'"' -f4 | sort -u >"$T_TMP/delivered"
comm -23 "$T_TMP/acked" "$T_TMP/delivered" >"$T_TMP/lost"
lost=$(wc -l <"$T_TMP/lost")
if [ "$lost" -eq 0 ]; then
	ok "every acknowledged event was delivered ($acked acked)"
else
	not_ok "every acknowledged event was delivered" "$lost of $acked lost, e.g. $(head -3 "$T_TMP/lost" | tr '\n' ' ')"
fi
dups=$(grep -o '"event_id":"c[0-9]*-[0-9]*"' "$T_TMP/fake.ndjson" | sort | uniq -d | wc -l)
echo "# resent after a crash (allowed, at-least-once): $dups"
stop_gw
done_testing
