#!/usr/bin/env python3
"""The X-level GUI monkey (issue 18 §5): starts the real `transportlab` on its default scenario under
the X server in $DISPLAY (Xvfb, no window manager) and sends it seeded random X events with xdotool,
about 4.5 a second: left, right and double clicks, drags (mousedown, mousemove, mouseup), wheel turns,
keys and typed text, anywhere in its window (the Scenario dock's forms, the menus, the slider, the
views, and whatever dialog or popup they open). The events go through the X server as a user's do,
so focus moves and window activation happen as they would by hand (the in-process tst_monkey sends
Qt events directly and did not find the dangling-focus crash this one found).

Fails (exit 1) when the app dies by a signal or its peak RSS (VmHWM) passes 2 GB, printing the seed
and the last 30 events. A File > Quit hit by chance ends the app cleanly: it is restarted and the run
goes on. Prints one line per seed and a closing 'N passed, M failed'.

Usage: monkey_x11.py GUI_BINARY [--seeds 2 3] [--seconds 30] [--rate 4.5]
Environment: TL_MONKEY_SEEDS, TL_MONKEY_SECONDS (per seed), TL_MONKEY_RATE override the defaults.
"""
import argparse
import collections
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

W, H = 1440, 900  # the app's default window size; without a window manager it sits at (0, 0)
KEYS = ["Tab", "shift+Tab", "Return", "Escape", "Up", "Down", "Left", "Right", "Page_Up", "Home", "End", "space",
        "BackSpace", "Delete", "ctrl+z", "ctrl+y", "ctrl+shift+z", "ctrl+a", "F1", "plus", "minus", "1", "5", "a", "r"]
WORDS = ["0", "1", "2.5", "-3", "1e9", "nan", "abc", "5000", "0.001", "gaussian:n=100", "moons", " "]


def xdo(env, *args):
    subprocess.run(["xdotool", *map(str, args)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=20)


def peak_rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def start(binary, env, workdir):
    p = subprocess.Popen([binary], env=env, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    # the window is up when xdotool finds it
    for _ in range(100):
        r = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "TransportLab"], env=env,
                           capture_output=True, text=True)
        if r.stdout.strip() or p.poll() is not None:
            break
        time.sleep(0.1)
    return p


def one_seed(binary, seed, seconds, rate):
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "xcb")
    workdir = tempfile.mkdtemp(prefix="tl-monkey-")
    env["HOME"] = workdir  # settings and recent files stay in the run's folder
    env["XDG_CONFIG_HOME"] = os.path.join(workdir, ".config")
    rng = random.Random(seed)
    events = collections.deque(maxlen=30)
    app = start(binary, env, workdir)
    t0 = time.time()
    n = restarts = peak = 0
    try:
        while time.time() - t0 < seconds:
            rc = app.poll()
            if rc is not None:
                if rc < 0:
                    err = app.stderr.read().decode(errors="replace")[-2000:]
                    print("monkey: seed %d: transportlab died by signal %d after %d events (%.0f s); last events:"
                          % (seed, -rc, n, time.time() - t0))
                    for e in events:
                        print("  " + e)
                    if err.strip():
                        print("  stderr: " + err.strip().replace("\n", "\n  stderr: "))
                    return False
                restarts += 1  # File > Quit, by chance
                events.append("(the app quit with exit %d: restarted)" % rc)
                app = start(binary, env, workdir)
                continue
            peak = max(peak, peak_rss_mb(app.pid))
            if peak > 2048:
                print("monkey: seed %d: peak RSS %d MB > 2 GB after %d events" % (seed, peak, n))
                return False
            r, x, y = rng.random(), rng.randrange(W), rng.randrange(H)
            if r < 0.30:
                b = 3 if rng.random() < 0.12 else 1
                e = ["mousemove", x, y, "click", b]
            elif r < 0.36:
                e = ["mousemove", x, y, "click", "--repeat", 2, "--delay", 60, 1]
            elif r < 0.48:
                e = ["mousemove", x, y, "mousedown", 1]
                for _ in range(4):
                    e += ["mousemove", rng.randrange(W), rng.randrange(H)]
                e += ["mouseup", 1]
            elif r < 0.58:
                e = ["mousemove", x, y, "click", 4 if rng.random() < 0.5 else 5]
            elif r < 0.84:
                e = ["key", rng.choice(KEYS)]
            else:
                e = ["type", "--delay", 20, rng.choice(WORDS)]
            n += 1
            events.append("%d (%.1f s): xdotool %s" % (n, time.time() - t0, " ".join(map(str, e))))
            xdo(env, *e)
            time.sleep(1 / rate)
        print("monkey: seed %d survived %d events in %.0f s (%d restarts after a Quit); peak RSS %d MB"
              % (seed, n, time.time() - t0, restarts, peak))
        return True
    finally:
        if app.poll() is None:
            app.kill()
            app.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--seeds", type=int, nargs="+", default=[int(s) for s in os.environ.get("TL_MONKEY_SEEDS", "2 3").split()])
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("TL_MONKEY_SECONDS", "30")))
    ap.add_argument("--rate", type=float, default=float(os.environ.get("TL_MONKEY_RATE", "4.5")))
    a = ap.parse_args()
    a.binary = os.path.abspath(a.binary)  # the app runs in a temporary folder
    if not os.environ.get("DISPLAY"):
        print("monkey: no DISPLAY (run under xvfb-run)", file=sys.stderr)
        return 1
    if not shutil.which("xdotool"):
        print("monkey: xdotool is missing (scripts/install-deps.sh installs it)", file=sys.stderr)
        return 1
    ok = [one_seed(a.binary, s, a.seconds, a.rate) for s in a.seeds]
    print("%d passed, %d failed" % (ok.count(True), ok.count(False)))
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
