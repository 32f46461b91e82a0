#!/bin/sh
# active-cards.sh — N payments of N different cards within five minutes, each
# a sub-$2 authorisation: the input of the memory benchmark. Fed to
# bench_engine, every card is then a live key at the end of the input: with
# card_testing each holds one partial match (a probe waiting for its big
# purchase), with card_velocity one window with one pane.
#
#   contrib/bench/active-cards.sh 1000000 > /tmp/active1m.jsonl
#   contrib/bench/bench_engine -e /tmp/active1m.jsonl \
#       rules/fraud/card_testing.weir rules/fraud/streams.weir
set -eu
n=${1:?usage: active-cards.sh N}
awk -v n="$n" 'BEGIN {
    t = 1700000000000
    for (c = 0; c < n; c++) {
        amount = (c * 7919 % 190 + 10) / 100
        printf "{\"card\":\"4%015d\",\"amount\":%.2f,\"merchant\":\"m%05d\",", c, amount, c * 31 % 10000
        printf "\"mcc\":5411,\"country\":\"GB\",\"lat\":null,\"lon\":null,\"ts\":%.0f}\n", t + int(c * 300000 / n)
    }
}'
