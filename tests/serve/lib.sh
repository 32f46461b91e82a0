# lib.sh — shared by the serve tests: TAP helpers, starting `weir serve` on
# free loopback ports (it logs the ports it bound), and cleanup. Everything
# started here binds to 127.0.0.1 and is killed on exit; every wait polls
# for a condition with a deadline, never for a fixed time.
: "${WEIR:?WEIR must point at the weir binary}"
: "${top_srcdir:?top_srcdir must be set}"
tmp=$(mktemp -d) || exit 99
pids=
cleanup() {
    for p in $pids; do kill -9 "$p" 2>/dev/null; done
    # WEIR_TEST_KEEP=1 keeps the logs and states of a run for a post-mortem
    if [ -n "${WEIR_TEST_KEEP:-}" ]; then echo "# kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
n=0
# slow_test: the tests that take a minute or more call it before their plan.
# .ci/run sets WEIR_SKIP_SLOW_TESTS for `make distcheck`, which checks the
# tarball, after the same tests ran in full in the -Werror and sanitizer
# builds: there they are skipped.
slow_test() {
    if [ -n "${WEIR_SKIP_SLOW_TESTS:-}" ]; then
        echo "1..0 # SKIP slow: run in full by the -Werror and sanitizer builds"
        exit 0
    fi
}
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; }
check() {
    what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; return 1; fi
}
# wait_until CMD...: polls CMD every 0.1 s for up to 30 s.
wait_until() {
    i=0
    while [ $i -lt 300 ]; do
        if "$@"; then return 0; fi
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
# start_weir NAME ARGS...: runs weir serve with ARGS, its log in $tmp/NAME.log;
# sets WPID, HTTP and TCP (the bound ports) and BASE (the API's URL).
start_weir() {
    name=$1
    shift
    "$WEIR" serve "$@" >"$tmp/$name.stdout" 2>"$tmp/$name.log" &
    WPID=$!
    pids="$pids $WPID"
    wait_until sh -c "grep -q 'serving' '$tmp/$name.log' || ! kill -0 $WPID 2>/dev/null"
    HTTP=$(sed -n 's/.*http api on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/$name.log" | head -1)
    TCP=$(sed -n 's/.*tcp source on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/$name.log" | head -1)
    BASE="http://127.0.0.1:$HTTP"
}
# stop_weir: SIGTERM, then the exit status in $STATUS.
stop_weir() {
    kill -TERM "$WPID"
    # a weir that does not stop within a minute is killed: the test then
    # fails on its status instead of hanging
    ( sleep 60; kill -9 "$WPID" 2>/dev/null ) &
    guard=$!
    wait "$WPID"
    STATUS=$?
    kill "$guard" 2>/dev/null
    wait "$guard" 2>/dev/null
}
# status URL [curl args]: the HTTP status; the body goes to $tmp/body.
status() {
    url=$1
    shift
    curl -s -m 20 -o "$tmp/body" -w '%{http_code}' "$@" "$url"
}
# tcp_send PORT: sends standard input to 127.0.0.1:PORT and closes.
tcp_send() {
    bash -c "cat >/dev/tcp/127.0.0.1/$1"
}
# metric NAME: its value from GET /metrics (labels included in NAME).
metric() {
    curl -s -m 20 "$BASE/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
ev() { # ev CARD AMOUNT MINUTE
    printf '{"card":"%s","amount":%s,"merchant":"m","ts":"2026-01-05T10:%02d:00Z"}\n' "$1" "$2" "$3"
}
# no_sanitizer_reports: true when no weir log holds an ASan/UBSan/LSan report
# (they only appear in sanitizer builds, where they must not appear at all).
no_sanitizer_reports() {
    ! grep -l -E 'Sanitizer|runtime error:' "$tmp"/*.log >&2
}
# start_redis: a redis-server on a free loopback port, killed on exit;
# sets REDIS_PORT and REDIS_PID. Fails (status 1) when none would start.
start_redis() {
    tries=0
    while [ $tries -lt 20 ]; do
        tries=$((tries + 1))
        REDIS_PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
        redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
            --daemonize no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
        REDIS_PID=$!
        pids="$pids $REDIS_PID"
        if wait_until sh -c "redis-cli -p $REDIS_PORT ping 2>/dev/null | grep -q PONG || ! kill -0 $REDIS_PID 2>/dev/null" &&
            kill -0 "$REDIS_PID" 2>/dev/null; then
            return 0
        fi
    done
    return 1
}
