#!/usr/bin/python3
"""
test_background.py: fanfared's background threads yield the CPU to the
tracking threads (src/background.c).  The event pump and the webhook
delivery thread run at the process's nice value + 10; every other
thread (the main loop, the tracking workers, the API's workers, the
senders) keeps the process's own, so the pixel's answers win the CPU
when it is short.  Read from /proc/PID/task/*/stat, as ps -L would.
Linux only (a nice value is per thread there).
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Fanfare, Redis, done, ok, wait_for  # noqa: E402

BACKGROUND_NICE = 10      # src/background.h
BACKGROUND_THREADS = 2    # the event pump, the webhook delivery


def nice_values(pid):
    """{tid: nice} of every thread of pid."""
    out = {}
    base = "/proc/%d/task" % pid
    for tid in os.listdir(base):
        try:
            with open("%s/%s/stat" % (base, tid)) as f:
                stat = f.read()
        except FileNotFoundError:
            continue
        # Fields after the command's closing parenthesis: state is the
        # 3rd field of stat(5), nice the 19th.
        rest = stat[stat.rindex(")") + 2:].split()
        out[int(tid)] = int(rest[19 - 3])
    return out


def main():
    redis = Redis()
    ff = Fanfare(redis=redis)
    pid = ff.proc.pid
    own = os.getpriority(os.PRIO_PROCESS, pid)
    # Nice values stop at 19 (make check may itself run under nice).
    low_nice = min(own + BACKGROUND_NICE, 19)
    if low_nice == own:
        ok(True, "background threads # SKIP fanfared already at nice 19")
        ff.stop()
        done()
    # Every thread is made at start-up; the two lower themselves as they
    # begin.
    wait_for(lambda: sum(1 for n in nice_values(pid).values()
                         if n == low_nice) >=
             BACKGROUND_THREADS, timeout=10)
    nv = nice_values(pid)
    low = [t for t, n in nv.items() if n == low_nice]
    rest = [t for t, n in nv.items() if n == own]
    ok(len(low) == BACKGROUND_THREADS,
       "the event pump and the webhook delivery thread run at nice +%d "
       "(at most 19)" % BACKGROUND_NICE,
       "nice values by thread: %r (process: %d)" % (nv, own))
    ok(len(rest) == len(nv) - BACKGROUND_THREADS and pid in rest,
       "every other thread (main, tracking, API, senders) keeps the "
       "process's nice value", "nice values by thread: %r" % nv)
    ff.stop()
    done()


if __name__ == "__main__":
    main()
