#!/usr/bin/python3
"""
test_run.py: contrib/run.sh, the main job, end to end as CI runs it:
FF_DEMO_ONESHOT=1 (everything, print, stop, exit 0), FF_NO_SETUP=1 (no
apt, no build: the binaries of FANFARED/FANFARECTL), free ports and a run
directory of its own (FF_RUN_DIR), so the source tree is only read.  The
demo campaign must reach the SMTP capture server for every contact of
templates/demo-contacts.csv but the opted-out and the quarantined one,
the "opened" mail must move the opens and clicks, every process the
script started must be gone afterwards, and a second run must reuse the
tenant, the list and the template and send a new campaign.
"""
import csv
import importlib.util
import json
import os
import re
import stat
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CONTRIB, FANFARECTL, FANFARED, REDIS_SERVER, TEMPLATES,
                     done, free_port, ok, run, tmpdir)

RUN_SH = os.path.join(CONTRIB, "run.sh")
CSV = os.path.join(TEMPLATES, "demo-contacts.csv")
OPTED_OUT = "oscar.lindqvist@example.net"       # run.sh's POST /v1/optouts
QUARANTINED = "quentin.dubois@example.org"      # attributes.note: Catholic

_spec = importlib.util.spec_from_file_location(
    "smtp_capture", os.path.join(CONTRIB, "smtp-capture.py"))
smtp_capture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(smtp_capture)


def contacts():
    with open(CSV, newline="", encoding="utf-8") as f:
        return [r["email"].lower() for r in csv.DictReader(f)]


def run_sh(rundir):
    """Runs contrib/run.sh once; (exit status, stdout+stderr)."""
    env = dict(os.environ,
               FF_DEMO_ONESHOT="1", FF_NO_SETUP="1", FF_RUN_DIR=rundir,
               FF_TRACK_PORT=str(free_port()), FF_API_PORT=str(free_port()),
               FF_SMTP_PORT=str(free_port()), FANFARED=FANFARED,
               FANFARECTL=FANFARECTL, REDIS_SERVER=REDIS_SERVER)
    p = subprocess.run(["bash", RUN_SH], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=env, timeout=300)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def printed_json(out, title):
    """The JSON object printed after the line that starts with title."""
    m = re.search(r"^%s[^\n]*\n" % re.escape(title), out, re.M)
    if not m:
        return None
    try:
        return json.JSONDecoder().raw_decode(out, m.end())[0]
    except ValueError:
        return None


def read_env(rundir):
    env = {}
    with open(os.path.join(rundir, "demo.env")) as f:
        for line in f:
            k, sep, v = line.strip().partition("=")
            if sep and not k.startswith("#"):
                env[k] = v
    return env


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is gone for our purpose.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def check_run(rundir, nth, everyone, sent_before, fed_back=()):
    rc, out = run_sh(rundir)
    tail = "\n".join(out.splitlines()[-40:])
    ok(rc == 0, "run %d: contrib/run.sh exits 0" % nth, tail)
    m = re.search(r"^campaign (\d+) launched", out, re.M)
    camp = m.group(1) if m else None
    ok(camp is not None, "run %d: a campaign was launched" % nth, tail)

    # The mails: one per contact but the suppressed ones (and those an
    # earlier run's DSN and complaint suppressed).
    mail = os.path.join(rundir, "mail")
    want = sorted(set(everyone) - {OPTED_OUT, QUARANTINED} - set(fed_back))
    log = [e for e in smtp_capture.read_log(mail) if "seq" in e]
    new = log[sent_before:]
    rcpts = sorted(a.lower() for e in new for a in e["rcpt_tos"])
    files = [n for n in os.listdir(os.path.join(mail, "new"))
             if n.endswith(".eml")]
    ok(len(files) == sent_before + len(want),
       "run %d: %d mails in the run dir's mail/new (%d contacts - %d "
       "suppressed)" % (nth, len(want), len(everyone),
                        len(everyone) - len(want)),
       "%d files, %d before this run" % (len(files), sent_before))
    ok(rcpts == want, "run %d: each other contact got exactly one" % nth,
       "got %s" % rcpts)
    ok(OPTED_OUT not in rcpts and QUARANTINED not in rcpts,
       "run %d: the opted-out and the quarantined contact got none" % nth,
       rcpts)
    if camp:
        ids = set()
        for e in new:
            with open(os.path.join(mail, e["file"]), "rb") as f:
                head = f.read(4096).decode("utf-8", "replace")
            m = re.search(r"^Message-ID: <c\.(\d+)\.", head, re.M | re.I)
            ids.add(m.group(1) if m else None)
        ok(ids == {camp}, "run %d: they are campaign %s's" % (nth, camp),
           ids)

    # What it printed: the stats after the "open", and the progress.
    stats = printed_json(out, "campaign %s stats" % camp)
    prog = printed_json(out, "campaign %s progress" % camp)
    ok(isinstance(stats, dict) and stats["opens"]["total"] >= 1
       and stats["clicks"]["total"] >= 1 and stats["opens"]["unique"] >= 1
       and stats["clicks"]["unique"] >= 1,
       "run %d: the printed stats show opens >= 1 and clicks >= 1" % nth,
       stats if stats is not None else tail)
    ok(isinstance(stats, dict) and stats["sent"] == len(want)
       and stats["opens"]["machine"] == 0
       and stats["clicks"]["machine"] == 0,
       "run %d: sent %d, and the browser's hits are not machine ones"
       % (nth, len(want)), stats)
    ok(isinstance(prog, dict) and prog.get("status") == "done"
       and prog["progress"]["total"] == len(everyone)
       and prog["progress"]["sent"] == len(want)
       and prog["progress"]["suppressed"]["opted_out"] == 1
       and prog["progress"]["suppressed"]["special_category"] == 1
       and prog["progress"]["suppressed"]["bounced"] == (1 if fed_back else 0)
       and prog["progress"]["suppressed"]["complained"] ==
       (1 if fed_back else 0),
       "run %d: the printed progress: done, 1 opted out, 1 special "
       "category%s" % (nth, ", 1 bounced, 1 complained (run 1's DSN and "
                       "complaint)" if fed_back else ""),
       prog if prog is not None else tail)

    # The feedback loop: a DSN and a complaint to two mails' VERP
    # envelope senders, counted; then the audience and the event feed.
    hard = re.search(r"^  a DSN \(550 5\.1\.1\) to b\S+@\S+, the envelope "
                     r"sender of the mail to (\S+)$", out, re.M)
    compl = re.search(r"^  an ARF complaint to b\S+@\S+, of the mail to "
                      r"(\S+)$", out, re.M)
    ok(hard is not None and compl is not None and
       re.search(r"^  stats now: bounces\.hard 1, bounces\.soft 0, "
                 r"complaints 1$", out, re.M) is not None,
       "run %d: a DSN and a complaint to the bounce listener, counted "
       "(bounces.hard 1, complaints 1)" % nth, tail)
    ok(re.search(r"^sending domain example\.com \(pending", out, re.M) and
       re.search(r"^  CNAME  bounces\.example\.com", out, re.M),
       "run %d: the sending domain's DNS records are printed" % nth, tail)
    ok(re.search(r"^segment \d+, the people who opened campaign %s .*: 1$"
                 % camp, out, re.M) and
       re.search(r"^signup form \d+ for list \d+ .*: http://127\.0\.0\.1:"
                 r"\d+/f/\S+$", out, re.M) and
       re.search(r"^  .*opened 1.*sent %d" % len(want), out, re.M),
       "run %d: a segment of 1 opener, a form's hosted page, the event "
       "feed (opened 1, sent %d)" % (nth, len(want)), tail)
    fed = [m.group(1).lower() for m in (hard, compl) if m]

    # Where to look: a mail file that exists, the curl line with the key.
    m = re.search(r"^\s*captured mails\s+(\S+).*one of them: (\S+)\)", out,
                  re.M)
    ok(m is not None and os.path.samefile(m.group(1), os.path.join(
        mail, "new")) and os.path.isfile(m.group(2)),
       "run %d: it prints the mail directory and one mail's path" % nth,
       tail)
    env = read_env(rundir)
    ok(re.search(r"curl -s http://127\.0\.0\.1:\d+/v1/campaigns/%s/stats "
                 r"-H 'Authorization: Bearer %s'"
                 % (camp, re.escape(env.get("DEMO_KEY", "?"))), out)
       is not None, "run %d: it prints the curl line for the stats" % nth,
       tail)

    ok(re.search(r"^\s*the app\s+http://127\.0\.0\.1:\d+/dashboard/\s+\(log in "
                 r"as owner@demo\.test, password in \S+/owner\.password\)",
                 out, re.M) is not None and
       re.search(r"^user owner@demo\.test, role owner, logs in", out, re.M),
       "run %d: it prints the app's URL (printed once it answers) and the "
       "owner it logged in as with a password" % nth, tail)

    # Stopped: exactly what it started, all gone.
    stopped = {name: int(pid) for name, pid in
               re.findall(r"^stopping (\S+) \(pid (\d+)\)", out, re.M)}
    ok(sorted(stopped) == ["fanfared", "redis-server", "smtp-capture"],
       "run %d: it stopped fanfared, the capture server and redis" % nth,
       stopped)
    ok(not [p for p in stopped.values() if alive(p)],
       "run %d: none of them is left running" % nth,
       [p for p in stopped.values() if alive(p)])
    return env, camp, len(log), fed


def test_run():
    everyone = contacts()
    ok(len(everyone) >= 15 and OPTED_OUT in everyone
       and QUARANTINED in everyone
       and all(re.search(r"@example\.(com|org|net)$", a) for a in everyone),
       "demo-contacts.csv: example.* addresses, with the two special ones",
       everyone)
    rundir = tmpdir("ff-run-")
    env1, camp1, sent, fed = check_run(rundir, 1, everyone, 0)
    mode = stat.S_IMODE(os.stat(os.path.join(rundir, "admin.key")).st_mode)
    ok(mode == 0o600, "the admin key is kept in admin.key, mode 600",
       oct(mode))
    with open(os.path.join(rundir, "fanfare.conf")) as f:
        conf = f.read()
    ok(re.search(r"^smtp_relay 127\.0\.0\.1:\d+$", conf, re.M)
       and re.search(r"^smtp_starttls off$", conf, re.M)
       and re.search(r"^admin_key \S+$", conf, re.M),
       "the config relays to the capture server, with an admin key", conf)

    # Twice: the same tenant, list and template, a new campaign, which
    # skips the two people run 1's DSN and complaint suppressed.
    env2, camp2, _, _ = check_run(rundir, 2, everyone, sent, fed)
    ok(all(env1.get(k) and env1.get(k) == env2.get(k) for k in
           ("DEMO_TENANT", "DEMO_KEY", "DEMO_LIST", "DEMO_TEMPLATE"))
       and camp1 and camp2 and int(camp2) > int(camp1),
       "the second run reuses tenant, list and template, new campaign",
       (env1, env2, camp1, camp2))


def main():
    run(test_run)
    done()


if __name__ == "__main__":
    main()
