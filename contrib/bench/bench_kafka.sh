#!/bin/sh
# bench_kafka.sh — events per second through `weir serve` from Kafka: the
# events are first produced to a topic of librdkafka's mock cluster (hosted
# by tests/serve/kafka_mock, built by `make check`), then weir serve joins
# the consumer group and the rate is taken from the moment its partition is
# assigned to the moment /metrics shows every event taken by the engine. A
# program that prints figures, not a test.
#
#   sh contrib/bench/bench_kafka.sh BUILD_DIR [EVENTS [SHARDS [RULES]]]
#
# RULES defaults to one cheap rule (the consumer's and the server's own
# cost) on a processing-time stream; rules/fraud runs the fraud library on
# event time. The events are spread round robin over the partitions of topic
# `payments` (which rules/fraud's payments stream declares), and the consumer
# reads a batch of one partition at a time, so they come out of time order
# by hours: only a watermark per partition (doc/running.md) keeps them on
# time, as the late count printed at the end shows.
set -eu
build=${1:?usage: bench_kafka.sh BUILD_DIR [EVENTS [SHARDS [RULES]]]}
events=${2:-1000000}
shards=${3:-1}
rules=${4:-light}
mock=$build/tests/serve/kafka_mock
[ -x "$mock" ] || { echo "bench_kafka: $mock missing: run make check (or make tests/serve/kafka_mock) first" >&2; exit 1; }
tmp=$(mktemp -d)
pid=
mpid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; [ -n "$mpid" ] && kill $mpid 2>/dev/null; rm -rf "$tmp"' EXIT
if [ "$rules" = light ]; then
    rules=$tmp/light.weir
    cat >"$rules" <<'RULES'
stream payments processing time { card string, amount decimal, merchant string, ts time }
rule huge on payments by card match h where amount > 100000 emit { card, amount }
RULES
fi

"$build/contrib/weir-gen" --cards 100000 --events "$events" --seed 7 --streams payments --quiet >"$tmp/events"
# the mock keeps 5 MB per partition (DEPENDENCIES.md 3): 25 000 events of
# about 136 bytes each per partition stay well under it
partitions=$(( (events + 24999) / 25000 ))
"$mock" --produce payments "$tmp/events" --consume alerts /dev/null --timeout 900 \
    --partitions "$partitions" >"$tmp/brokers" 2>"$tmp/mock.err" &
mpid=$!
until grep -qs 'produced' "$tmp/mock.err"; do
    kill -0 $mpid 2>/dev/null || { cat "$tmp/mock.err" >&2; exit 1; }
    sleep 0.1
done
"$build/weir" serve --http 127.0.0.1:0 --tcp off --alerts none --stream payments \
    --kafka-brokers "$(cat "$tmp/brokers")" --kafka-topics payments \
    --state-dir "$tmp/state" --shutdown-timeout 0 --shards "$shards" "$rules" 2>"$tmp/log" &
pid=$!
until grep -qs "$partitions partitions assigned" "$tmp/log"; do
    kill -0 $pid 2>/dev/null || { pid=; cat "$tmp/log" >&2; exit 1; }
    sleep 0.01
done
start=$(date +%s.%N)
http=$(sed -n 's/.*http api on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/log")
taken() {
    curl -s "http://127.0.0.1:$http/metrics" | awk '$1 == "weir_engine_events_total" { print $2 }'
}
while [ "$(taken)" -lt "$events" ]; do sleep 0.02; done
end=$(date +%s.%N)
curl -s "http://127.0.0.1:$http/metrics" |
    grep -E '^weir_(alerts_total|decode_errors_total\{source="kafka"\}|late_events_total\{source="kafka"\}|held_events)' >"$tmp/m"
kill -TERM $pid
wait $pid || true
pid=
# the alerts of events still held for the watermark come at the end
grep -E 'info stopped:' "$tmp/log" | sed 's/.*stopped: /at exit: /' >>"$tmp/m"
awk -v n="$events" -v s="$start" -v e="$end" -v sh="$shards" -v p="$partitions" -v r="$(basename "$rules")" 'BEGIN {
    t = e - s
    printf "weir serve, %d shard(s), Kafka (mock cluster, %d partitions), %s: %d events in %.3f s = %.0f events/s\n",
           sh, p, r, n, t, n / t
}'
sed 's/^/  /' "$tmp/m"
