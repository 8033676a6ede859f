#!/usr/bin/env python3
"""Key-to-redraw latency of the cockpit while the trainer saturates both cores.

Opens a fresh demo experiment in a detached tmux session (160x48), splits the data, starts a
training run on the demo model, waits until steps are flowing, then presses pane keys
alternately and times each press until tmux shows the new pane. The figure includes tmux's
own overhead (send-keys, then capture-pane polled every millisecond), so it is an upper bound
for what a user sees.

With BENCH_EVAL_RUN=RUN_DIR (a trained run of the demo, e.g. experiments/d1/runs/run-5), that
run is copied into the fresh experiment first and its three-part test (batched, 136 answers) runs on the
jobs thread beside the training run while the keys are timed."""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BIN = "target/release/tunedeck"
SOCKET = "tunedeck-latency"
PRESSES = 40
EVAL_RUN = os.environ.get("BENCH_EVAL_RUN")


def tmux(*args):
    return subprocess.run(["tmux", "-u", "-L", SOCKET, *args], capture_output=True, text=True).stdout


def screen():
    return tmux("capture-pane", "-p", "-t", "b")


def wait_for(text, timeout=300):
    start = time.time()
    while text not in screen():
        if time.time() - start > timeout:
            sys.exit(f"timed out waiting for {text!r}:\n{screen()}")
        time.sleep(0.05)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        exp = f"{tmp}/exp"
        subprocess.run([BIN, "init", exp, "--demo"], check=True, capture_output=True)
        if EVAL_RUN:
            shutil.copytree(EVAL_RUN, f"{exp}/runs/run-1",
                            ignore=shutil.ignore_patterns("checkpoints", "eval.json", "report.md"))
        tmux("new-session", "-d", "-s", "b", "-x", "160", "-y", "48", BIN, "open", exp)
        try:
            wait_for("1 Goal")
            tmux("send-keys", "-t", "b", "2")
            wait_for("┌ 2 Dataset")
            tmux("send-keys", "-t", "b", "s")
            time.sleep(2)
            tmux("send-keys", "-t", "b", "4")
            wait_for("┌ 4 Loss")
            # S: a new run (s would offer to continue a copied run that stopped early).
            tmux("send-keys", "-t", "b", "S" if EVAL_RUN else "s")
            # Steps are flowing once the step counter shows a first completed step.
            wait_for("step 2/", timeout=600)
            what = "training"
            if EVAL_RUN:
                tmux("send-keys", "-t", "b", "6")
                wait_for("┌ 6 Eval")
                # The newest run (the one training) is selected; the copied run is the one before.
                tmux("send-keys", "-t", "b", "h")
                time.sleep(1)
                tmux("send-keys", "-t", "b", "s")
                wait_for("/136 answers", timeout=600)
                what = "training beside a batched three-part test"
            times = []
            for i in range(PRESSES):
                key, title = ("1", "┌ 1 Goal") if i % 2 == 0 else ("4", "┌ 4 Loss")
                start = time.perf_counter()
                tmux("send-keys", "-t", "b", key)
                while title not in screen():
                    time.sleep(0.001)
                times.append((time.perf_counter() - start) * 1e3)
                time.sleep(0.1)
            load = open("/proc/loadavg").read().split()[0]
            if EVAL_RUN:
                # The test must still have been running for the figure to mean anything.
                tmux("send-keys", "-t", "b", "6")
                wait_for("┌ 6 Eval")
                time.sleep(0.5)
                if "answers in" in screen():
                    what += " (the test had already finished: rerun with a larger run)"
        finally:
            tmux("kill-server")
    times.sort()
    print(f"key-to-redraw while {what} (load average {load}), {PRESSES} presses: "
          f"median {statistics.median(times):.1f} ms, p95 {times[int(0.95 * len(times)) - 1]:.1f} ms, max {times[-1]:.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
