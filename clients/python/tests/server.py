"""Starts a real `pedigree serve` for a test class: on 127.0.0.1:0 with a
temporary data directory, its URL read from the "listening" log line."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the package, without installing it
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

import pedigree  # noqa: E402

LISTENING = re.compile(r"url=(http://[0-9.:]+)")
_built = None


def binary() -> str:
    """$PEDIGREE_BIN, else bin/pedigree of the repository (make test-python builds
    it), else a fresh `go build` into a temporary directory."""
    global _built
    env = os.environ.get("PEDIGREE_BIN")
    if env:
        return env
    b = os.path.join(REPO, "bin", "pedigree")
    if os.path.exists(b):
        return b
    if _built is None:
        d = tempfile.mkdtemp(prefix="pedigree-bin-")
        _built = os.path.join(d, "pedigree")
        subprocess.run(["go", "build", "-o", _built, "./cmd/pedigree"], cwd=REPO, check=True)
    return _built


class Server:
    def __init__(self, *args: str) -> None:
        self.dir = tempfile.mkdtemp(prefix="pedigree-pytest-")
        self.log_path = os.path.join(self.dir, "server.log")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [binary(), "serve", "--addr", "127.0.0.1:0", "--data-dir", os.path.join(self.dir, "data")]
            + list(args), stdout=subprocess.DEVNULL, stderr=self._log)
        self.url = self._wait_url()

    def _wait_url(self) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open(self.log_path, "rb") as f:
                m = LISTENING.search(f.read().decode("utf-8", "replace"))
            if m:
                return m.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("pedigree serve did not start: %s" % self.log())

    def log(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class ServerTestCase(unittest.TestCase):
    """A test class with its own server (cls.server) and client (cls.client)."""

    server_args = ()

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = Server(*cls.server_args)
        cls.client = pedigree.Client(cls.server.url, timeout=30)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()
