# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers for the integration tests: start the daemon, talk to it."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BIN = os.environ.get("HADIRECTOR", "hadirector")
SRC = os.environ.get("HD_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))


class TempDir:
    def __init__(self, prefix="hdtest-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def file(self, name, text):
        p = os.path.join(self.path, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def wait_for(pred, timeout=5.0, step=0.02, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting for " + what)


class Daemon:
    """A hadirector run process, optionally inside a network namespace."""

    def __init__(self, config, socket_path, netns=None, env=None, log_path=None, wrap=()):
        self.config = config
        self.socket = socket_path
        cmd = list(wrap) + [BIN, "run", "-c", config]
        if netns:
            cmd = ["ip", "netns", "exec", netns] + cmd
        self.log_path = log_path or (config + ".log")
        self.log = open(self.log_path, "w")
        e = dict(os.environ)
        if env:
            e.update(env)
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=e)

    def wait_ready(self, timeout=5.0):
        wait_for(lambda: self.proc.poll() is not None or self.try_status() is not None,
                 timeout, what="control socket of " + self.config)
        if self.proc.poll() is not None:
            raise AssertionError("daemon exited with %s:\n%s" % (self.proc.returncode, self.logs()))
        return self

    def request(self, line):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.socket)
            s.sendall(line.encode() + b"\n")
            s.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
        return b"".join(chunks).decode()

    def try_status(self):
        try:
            return json.loads(self.request("status --json"))
        except (OSError, ValueError):
            return None

    def status(self):
        return json.loads(self.request("status --json"))

    def send(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def logs(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()


SKIP_EXIT = 77  # ctest: SKIP_RETURN_CODE (tests/integration/CMakeLists.txt)


def main():
    """unittest.main for the integration scripts, with an exit status ctest can read:
    0 all ran and passed, 1 a failure or error (or nothing ran), 77 nothing failed but
    something was skipped. A skipTest/skipIf that exited 0 would read as "Passed"; with
    77 ctest reports the whole script as "Skipped" and scripts/test.sh fails it in CI
    unless tests/skip-allowlist.txt names it."""
    prog = unittest.main(verbosity=2, exit=False)
    r = prog.result
    if not r.wasSuccessful() or r.testsRun == 0:
        sys.exit(1)
    if r.skipped:
        for test, reason in r.skipped:
            print("SKIP: %s: %s" % (test.id(), reason))
        sys.exit(SKIP_EXIT)
    sys.exit(0)
