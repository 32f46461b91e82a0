#!/bin/sh
# bench_serve.sh — events per second through `weir serve` over TCP: generates payments with weir-gen, starts weir serve on free
# loopback ports with the example rules, sends the file over C concurrent
# TCP connections (bash's /dev/tcp), and reports the rate from the first byte
# sent to the moment /metrics shows every event taken by the engine. A
# program that prints figures, not a test.
#
#   sh contrib/bench/bench_serve.sh BUILD_DIR [EVENTS [CLIENTS [RULES [SHARDS]]]]
#
# RULES defaults to the fraud rules of rules/fraud (the engine's own cost
# dominates); RULES=light uses one cheap rule, which measures the server's
# own overhead: sockets, line splitting, the queue, decoding.
set -eu
build=${1:?usage: bench_serve.sh BUILD_DIR [EVENTS [CLIENTS]]}
events=${2:-1000000}
clients=${3:-1}
src=$(cd "$(dirname "$0")/../.." && pwd)
rules=${4:-$src/rules/fraud}
shards=${5:-1}
tmp=$(mktemp -d)
if [ "$rules" = light ]; then
    rules=$tmp/light.weir
    cat >"$rules" <<'RULES'
stream payments event time ts, lateness 5s { card string, amount decimal, merchant string, ts time }
rule huge on payments by card match h where amount > 100000 emit { card, amount }
RULES
fi
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT

"$build/contrib/weir-gen" --cards 100000 --events "$events" --seed 7 --streams payments --quiet >"$tmp/events"
split -n "l/$clients" "$tmp/events" "$tmp/part."
"$build/weir" serve --http 127.0.0.1:0 --tcp 127.0.0.1:0 --alerts none --stream payments \
    --state-dir "$tmp/state" --shutdown-timeout 0 --shards "$shards" \
    "$rules" 2>"$tmp/log" &
pid=$!
while ! grep -qs serving "$tmp/log"; do
    if ! kill -0 $pid 2>/dev/null; then
        pid=
        echo "bench_serve: weir serve did not start:" >&2
        cat "$tmp/log" >&2
        exit 1
    fi
    sleep 0.05
done
http=$(sed -n 's/.*http api on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/log")
tcp=$(sed -n 's/.*tcp source on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/log")
taken() {
    curl -s "http://127.0.0.1:$http/metrics" | awk '$1 == "weir_engine_events_total" { print $2 }'
}
start=$(date +%s.%N)
senders=
for f in "$tmp"/part.*; do
    bash -c "cat '$f' >/dev/tcp/127.0.0.1/$tcp" &
    senders="$senders $!"
done
while [ "$(taken)" -lt "$events" ]; do sleep 0.02; done
end=$(date +%s.%N)
wait $senders
bytes=$(wc -c <"$tmp/events")
curl -s "http://127.0.0.1:$http/metrics" | grep -E '^weir_(alerts_total|rule_reload|decode_errors_total\{source="tcp"\}|late_events_total\{source="tcp"\})' >"$tmp/m"
kill -TERM $pid
wait $pid || true
pid=
awk -v n="$events" -v s="$start" -v e="$end" -v b="$bytes" -v sh="$shards" -v c="$clients" -v r="$(basename "$rules")" 'BEGIN {
    t = e - s
    printf "weir serve, %d shard(s), TCP, %d client(s), %s: %d events in %.3f s = %.0f events/s, %.1f MB/s\n",
           sh, c, r, n, t, n / t, b / t / 1e6
}'
sed 's/^/  /' "$tmp/m"
