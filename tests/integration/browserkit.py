"""
browserkit.py: what the browser tests share (test_browser.py, test_forms.py,
test_app.py): finding node and Debian's Chromium, npm's playwright-core
and axe-core, a directory for screenshots, and running one of
tests/browser/*.mjs, whose lines ({"ok", "name", "diag"?} per check,
{"screenshot": path} per picture) become this test's TAP lines.

The packages are taken from FF_NODE_MODULES, or tests/browser/node_modules
(FF_TEST_DEPS=1 contrib/setup.sh runs `npm ci` there), or, when neither
has them (make distcheck's read-only copy of the tarball), installed with
`npm ci` from tests/browser/package-lock.json into a temporary directory:
npm's cache, filled by setup.sh, makes that quick.
"""
import json
import os
import shutil
import subprocess

from harness import TOP, diag, ok, tmpdir

BROWSER_DIR = os.path.join(TOP, "tests", "browser")
CHROMIUM = os.environ.get("FF_CHROMIUM") or "/usr/bin/chromium"
_modules = []


def have_browser():
    if os.access(CHROMIUM, os.X_OK) and shutil.which("node"):
        return True
    ok(False, "%s and node are installed (FF_TEST_DEPS=1 contrib/setup.sh)"
       % CHROMIUM)
    return False


def node_modules():
    """A node_modules directory holding the lock file's packages, or
    None (and a failed check)."""
    if _modules:
        return _modules[0]
    for d in (os.environ.get("FF_NODE_MODULES"),
              os.path.join(BROWSER_DIR, "node_modules")):
        if d and all(os.path.isfile(os.path.join(d, p, "package.json"))
                     for p in ("playwright-core", "axe-core")):
            _modules.append(d)
            return d
    work = tmpdir("ff-npm-")
    for f in ("package.json", "package-lock.json"):
        shutil.copy(os.path.join(BROWSER_DIR, f), work)
    p = subprocess.run(["npm", "ci", "--prefer-offline", "--no-audit",
                        "--no-fund", "--loglevel=error"], cwd=work,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=300)
    ok(p.returncode == 0, "npm ci of tests/browser (no node_modules in %s)"
       % BROWSER_DIR, p.stderr.decode("utf-8", "replace")[-2000:])
    if p.returncode != 0:
        return None
    _modules.append(os.path.join(work, "node_modules"))
    return _modules[0]


def out_dir(name):
    """FF_BROWSER_OUT, or NAME.d/ beside the test's log in the build
    tree (make clean removes it), emptied."""
    d = os.environ.get("FF_BROWSER_OUT")
    if not d:
        here = os.path.join(os.getcwd(), "tests", "integration")
        d = os.path.join(here if os.path.isdir(here) else tmpdir(),
                         name + ".d")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def run_node(script, env, least, timeout=240, dirs=()):
    """Runs tests/browser/SCRIPT (and copies of DIRS beside it) with env
    added; its checks become ours.  True when it exited 0 after at least
    LEAST checks."""
    modules = node_modules()
    if modules is None:
        return False
    # NODE_PATH is not read for ES modules: run a copy of the script
    # from a directory whose node_modules is the one found.
    work = tmpdir("ff-browser-")
    os.symlink(modules, os.path.join(work, "node_modules"))
    for f in (script, "package.json"):
        shutil.copy(os.path.join(BROWSER_DIR, f), work)
    for d in dirs:
        shutil.copytree(os.path.join(BROWSER_DIR, d), os.path.join(work, d))
    env = dict(os.environ, FF_CHROMIUM=CHROMIUM, **env)
    p = subprocess.run(["node", os.path.join(work, script)], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout)
    seen = 0
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            diag("node: " + line)
            continue
        if "screenshot" in r:
            diag("screenshot: %s" % r["screenshot"])
        else:
            seen += 1
            ok(r["ok"], "browser: " + r["name"], r.get("diag"))
    ok(p.returncode == 0 and seen >= least, "%s exited 0 after its checks "
       "(%d)" % (script, seen),
       "exit %s\n%s" % (p.returncode,
                        p.stderr.decode("utf-8", "replace")[-3000:]))
    return p.returncode == 0
