#!/usr/bin/python3
"""
bench-reset-timing.py: does POST /v1/password_reset take longer for an
address that is a user's than for one that is not (an account
enumeration by time)?  On a throw-away Redis and fanfared of the
integration harness.

Each ROUND starts a fanfared with PAIRS users and asks a reset for each
user and for as many unknown addresses, alternating which goes first,
50 ms apart (so that no job of the one runs under the other); a round
stays within the per-client throttle (20 requests per 15 minutes).
Prints the medians over all rounds.

    /usr/bin/python3 contrib/bench/bench-reset-timing.py   (after make)

Environment: ROUNDS (5), PAIRS (10, at most 10).  Loopback only;
bounded in count and time.
"""
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

from harness import Fanfare, Redis, call, must, new_tenant  # noqa

ROUNDS = int(os.environ.get("ROUNDS", "5"))
PAIRS = min(int(os.environ.get("PAIRS", "10")), 10)
ADMIN = "admin-" + "r" * 40


def ask(ff, addr):
    t = time.perf_counter()
    st, _, _ = ff.api("POST", "/v1/password_reset",
                      headers={"Content-Type": "application/json"},
                      body=json.dumps({"email": addr}).encode())
    ms = (time.perf_counter() - t) * 1000
    if st != 202:
        raise SystemExit("%s: %d" % (addr, st))
    return ms


def round_(known, unknown):
    redis = Redis()
    ff = Fanfare(redis=redis, admin_key=ADMIN, senders="0",
                 system_from="Bench <bench@bench.test>")
    _, key = new_tenant(ff, "bench")
    for i in range(PAIRS):
        must("POST /v1/users", call(ff, "POST", "/v1/users", key, {
            "email": "u%d@bench.test" % i, "password": "bench-pass-%d-x" % i,
            "role": "viewer"}), 201)
    for i in range(PAIRS):
        pair = [("k", "u%d@bench.test" % i), ("u", "x%d@bench.test" % i)]
        for kind, addr in (pair if i % 2 else pair[::-1]):
            (known if kind == "k" else unknown).append(ask(ff, addr))
            time.sleep(0.05)
    ff.stop()
    redis.stop()


def main():
    known, unknown = [], []
    for _ in range(ROUNDS):
        round_(known, unknown)
    print("password reset, %d requests each: known address median %.2f ms, "
          "unknown %.2f ms" % (len(known), statistics.median(known),
                               statistics.median(unknown)))


if __name__ == "__main__":
    main()
