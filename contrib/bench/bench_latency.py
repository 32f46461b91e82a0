#!/usr/bin/env python3
"""bench_latency.py — latency from ingest to webhook delivery through `weir serve`.

Starts a webhook receiver (this process, a thread) and `weir serve` on free
loopback ports, streams events over TCP at a fixed rate for a few seconds,
and measures, for each alert, the time from the moment its event was
written to the socket to the moment the receiver got the alert's POST. One
event in `--every` raises an alert (the rule `mark` below), so the webhook
carries a steady trickle while the engine takes the full rate.

The event stream has `lateness 0s` and is in time order (`ts` is the wall
clock when the event is written), so nothing waits for the watermark: the
figures are weir's own path (socket, queue, decode, rule, alert, webhook
queue, HTTP POST) plus the kernel's loopback, not event-time buffering.

    contrib/bench/bench_latency.py BUILD_DIR [--rate 10000] [--seconds 10] [--every 100]

Needs only python3 (Debian's python3 package). Prints p50, p99, p99.9 and
the maximum in milliseconds, and how many events and alerts it saw.
"""
import argparse
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

RULES = """stream lat event time ts, lateness 0s {{ k string, amount int, sent int, ts time }}
sink hook webhook "http://127.0.0.1:{port}/hook" timeout 2s, retries 3
rule mark on lat by k match x where amount > 999 emit to hook {{ sent }}
"""


class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as libcurl reuses connections
    latencies = []
    lock = threading.Lock()

    def do_POST(self):
        now = time.monotonic_ns()
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        sent = json.loads(body)["body"]["sent"]
        with Receiver.lock:
            Receiver.latencies.append((now - sent) / 1e6)

    def log_message(self, *args):
        pass


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, int(q * len(sorted_values)))
    return sorted_values[i]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build_dir")
    ap.add_argument("--rate", type=int, default=10000, help="events per second")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--every", type=int, default=100, help="one alert per this many events")
    ap.add_argument("--shards", type=int, default=1)
    args = ap.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp(prefix="weir-latency.")
    rules = os.path.join(tmp, "lat.weir")
    with open(rules, "w") as f:
        f.write(RULES.format(port=server.server_address[1]))
    log = open(os.path.join(tmp, "log"), "w+")
    weir = subprocess.Popen(
        [os.path.join(args.build_dir, "weir"), "serve", "--http", "127.0.0.1:0",
         "--tcp", "127.0.0.1:0", "--alerts", "none", "--state-dir", os.path.join(tmp, "state"),
         "--shards", str(args.shards), rules],
        stdout=subprocess.DEVNULL, stderr=log)
    try:
        tcp_port = None
        deadline = time.monotonic() + 10
        while tcp_port is None:
            if weir.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                sys.exit("bench_latency: weir serve did not start:\n" + log.read())
            time.sleep(0.05)
            log.seek(0)
            m = re.search(r"tcp source on 127\.0\.0\.1:(\d+)", log.read())
            tcp_port = int(m.group(1)) if m else None

        sock = socket.create_connection(("127.0.0.1", tcp_port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tick_ns = 1_000_000  # send what is due every millisecond
        per_tick = args.rate / 1000.0
        start = time.monotonic_ns()
        end = start + int(args.seconds * 1e9)
        sent_events = 0
        marks = 0
        owed = 0.0
        next_tick = start
        while next_tick < end:
            now = time.monotonic_ns()
            if now < next_tick:
                time.sleep((next_tick - now) / 1e9)
                now = time.monotonic_ns()
            owed += per_tick
            n = int(owed)
            owed -= n
            wall_ms = time.time_ns() // 1_000_000
            lines = []
            for _ in range(n):
                sent_events += 1
                mark = sent_events % args.every == 0
                marks += mark
                lines.append('{"k":"k%d","amount":%d,"sent":%d,"ts":%d}\n'
                             % (sent_events % 1000, 1000 if mark else 1,
                                time.monotonic_ns() if mark else 0, wall_ms))
            sock.sendall("".join(lines).encode())
            next_tick += tick_ns
        sock.close()
        wait_until = time.monotonic() + 30
        while time.monotonic() < wait_until:
            with Receiver.lock:
                if len(Receiver.latencies) >= marks:
                    break
            time.sleep(0.05)
        elapsed = (time.monotonic_ns() - start) / 1e9
    finally:
        weir.send_signal(signal.SIGTERM)
        try:
            weir.wait(timeout=20)
        except subprocess.TimeoutExpired:
            weir.kill()
        server.shutdown()

    with Receiver.lock:
        lat = sorted(Receiver.latencies)
    print("events        %d at %d/s for %.1f s (%d shard%s)"
          % (sent_events, args.rate, args.seconds, args.shards, "" if args.shards == 1 else "s"))
    print("alerts        %d expected, %d received" % (marks, len(lat)))
    print("latency (ms)  p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f"
          % (percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 0.999),
             lat[-1] if lat else float("nan")))
    print("wall          %.1f s" % elapsed)
    return 0 if len(lat) == marks else 1


if __name__ == "__main__":
    sys.exit(main())
