"""start_run as a context manager: background metric batching, ending states,
and what is captured about code, environment and trigger."""

import os
import subprocess
import tempfile
import threading
import time
import unittest

from server import ServerTestCase, pedigree
from pedigree import capture


class CountingClient(pedigree.Client):
    """Counts logMetrics calls and the points they carried."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.calls = []
        self._lock = threading.Lock()

    def log_metrics(self, run, points, step=None):
        with self._lock:
            self.calls.append(len(points))
        return super().log_metrics(run, points, step)


class MetricBatchingTest(ServerTestCase):
    def client_(self, **kw):
        return CountingClient(self.server.url)

    def test_100k_points_in_about_100_calls(self):
        c = self.client_()
        n = 100000
        start = time.monotonic()
        with c.start_run("load", params={"n": n}, capture_git=False, capture_environment=False) as run:
            for i in range(n):
                run.log_metric("loss", 1.0 / (i + 1), step=i)
        elapsed = time.monotonic() - start
        self.assertEqual(run.status, "FINISHED")
        self.assertEqual(sum(c.calls), n)
        self.assertEqual(run.points_sent, n)
        self.assertLessEqual(max(c.calls), 1000)
        self.assertGreaterEqual(len(c.calls), 100)
        self.assertLessEqual(len(c.calls), 110, "batches should be full: %s" % c.calls)
        summary = c.metric(run, "loss")
        self.assertEqual(summary.count, n)
        self.assertEqual(summary.last_step, n - 1)
        history = c.metric_history(run, "loss")
        self.assertEqual(len(history), n)
        self.assertEqual([p.step for p in history[:3]], [0, 1, 2])
        self.assertEqual(history[-1].step, n - 1)
        r = c.run(run.id)
        self.assertEqual(r.metrics["loss"].count, n)
        print("\n  100,000 points in %d logMetrics calls, %.2fs" % (len(c.calls), elapsed), end=" ")

    def test_timer_flushes_a_partial_batch(self):
        c = self.client_()
        run = c.start_run("timer", capture_git=False, capture_environment=False, flush_interval=0.2)
        run.log_metrics({"a": 1, "b": 2}, step=3)
        deadline = time.monotonic() + 5
        while run.points_sent < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(run.points_sent, 2, "the background thread sends within flush_interval")
        self.assertEqual(c.calls, [2])
        run.finish()
        self.assertEqual(c.metric(run, "b").last_step, 3)

    def test_exception_marks_failed_and_flushes(self):
        c = self.client_()
        with self.assertRaises(ZeroDivisionError):
            with c.start_run("crashy", capture_git=False, capture_environment=False, flush_interval=60) as run:
                for i in range(2500):
                    run.log_metric("acc", i / 2500, step=i)
                1 / 0
        self.assertEqual(run.status, "FAILED")
        r = c.run(run.id)
        self.assertEqual(r.status, "FAILED")
        self.assertEqual(r.metrics["acc"].count, 2500, "queued points are flushed before the run ends")
        self.assertEqual(sum(c.calls), 2500)

    def test_keyboard_interrupt_marks_killed(self):
        with self.assertRaises(KeyboardInterrupt):
            with self.client.start_run("killed", capture_git=False, capture_environment=False) as run:
                run.log_metric("x", 1)
                raise KeyboardInterrupt
        self.assertEqual(self.client.run(run.id).status, "KILLED")

    def test_flush_waits_and_points_keep_their_time(self):
        c = self.client_()
        run = c.start_run("flush", capture_git=False, capture_environment=False, flush_interval=60)
        t = 1714566600.25  # 2024-05-01T12:30:00.25Z
        run.log_metric("m", 5, step=1, timestamp=t)
        run.flush()
        self.assertEqual(c.calls, [1])
        p = c.metric_history(run, "m")[0]
        self.assertEqual(p.timestamp.timestamp(), t)
        run.finish()

    def test_batch_error_surfaces_and_run_still_finishes(self):
        run = self.client.start_run("bad-batch", capture_git=False, capture_environment=False, flush_interval=60)
        run.log_metric("k" * 300, 1.0)  # over the 250-character key limit
        with self.assertLogs("pedigree", "WARNING"), self.assertRaises(pedigree.BadUserInput):
            run.finish()
        self.assertEqual(self.client.run(run.id).status, "FINISHED")

    def test_backpressure_with_small_queue(self):
        c = self.client_()
        with c.start_run("bp", capture_git=False, capture_environment=False, batch_size=100, max_queue=200) as run:
            for i in range(3000):
                run.log_metric("m", i, step=i)
        self.assertEqual(sum(c.calls), 3000)
        self.assertLessEqual(max(c.calls), 100)


def _git(cwd, *args):
    subprocess.run(["git"] + list(args), cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                            GIT_COMMITTER_EMAIL="t@t", GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1"))


@unittest.skipIf(subprocess.run(["git", "--version"], stdout=subprocess.DEVNULL).returncode != 0, "git is not installed")
class CaptureTest(ServerTestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.repo = self.tmp.name
        _git(self.repo, "init", "-q", "-b", "main")
        _git(self.repo, "remote", "add", "origin", "git@github.com:acme/churn.git")
        with open(os.path.join(self.repo, "train.py"), "w") as f:
            f.write("print('train')\n")
        os.mkdir(os.path.join(self.repo, "src"))
        _git(self.repo, "add", ".")
        _git(self.repo, "commit", "-q", "-m", "first")
        self.commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=self.repo, stdout=subprocess.PIPE,
                                     check=True).stdout.decode().strip()

    def tearDown(self):
        self.tmp.cleanup()

    def test_clean_checkout(self):
        info = capture.git_info(self.repo)
        self.assertEqual(info, {"repository": "git@github.com:acme/churn.git", "commit": self.commit, "branch": "main",
                                "dirty": False})
        with self.client.start_run("capture", code_path=self.repo) as run:
            pass
        code = self.client.query("query($id: ID!) { run(id: $id) { code { repository commit branch dirty diffDigest } "
                                 "environment { language languageVersion packages { name } hardware { key value } } } }",
                                 {"id": run.id})["run"]
        self.assertEqual(code["code"], {"repository": "github.com/acme/churn", "commit": self.commit, "branch": "main",
                                        "dirty": False, "diffDigest": ""})
        import platform
        env = code["environment"]
        self.assertEqual((env["language"], env["languageVersion"]), ("python", platform.python_version()))
        self.assertIn("machine", {h["key"] for h in env["hardware"]})
        self.assertIsInstance(env["packages"], list)

    def test_dirty_checkout_changes_the_digest(self):
        with open(os.path.join(self.repo, "train.py"), "a") as f:
            f.write("print('changed')\n")
        a = capture.git_info(self.repo)
        self.assertTrue(a["dirty"])
        self.assertTrue(a["diffDigest"].startswith("sha256:"))
        with open(os.path.join(self.repo, "new.py"), "w") as f:
            f.write("x = 1\n")
        b = capture.git_info(os.path.join(self.repo, "src"))
        self.assertNotEqual(a["diffDigest"], b["diffDigest"], "untracked files count")
        self.assertEqual(b["path"], "src")
        with self.client.start_run("capture", code_path=self.repo, capture_environment=False) as run:
            pass
        code = self.client.register_git_code_version(self.repo)
        self.assertTrue(code.dirty)
        self.assertEqual(self.client.run(run.id).code_id, code.id)

    def test_diff_digest_matches_the_cli_format(self):
        # sha256(git diff --binary HEAD, then "\0untracked <path>\0<sha256 hex>" per untracked file in
        # path order), as cmd/pedigree/capture.go computes it, so both clients name a tree alike.
        import hashlib
        with open(os.path.join(self.repo, "train.py"), "a") as f:
            f.write("print('changed')\n")
        for name, body in (("b.txt", b"bee"), ("a.txt", b"ay")):
            with open(os.path.join(self.repo, name), "wb") as f:
                f.write(body)
        diff = subprocess.run(["git", "diff", "--binary", "HEAD"], cwd=self.repo, stdout=subprocess.PIPE).stdout
        h = hashlib.sha256(diff)
        for name, body in (("a.txt", b"ay"), ("b.txt", b"bee")):
            h.update(b"\0untracked " + name.encode() + b"\0" + hashlib.sha256(body).hexdigest().encode())
        self.assertEqual(capture.git_info(self.repo)["diffDigest"], "sha256:" + h.hexdigest())

    def test_remote_credentials_are_dropped(self):
        _git(self.repo, "remote", "set-url", "origin", "https://user:tok3n@github.com/acme/churn.git")
        self.assertEqual(capture.git_info(self.repo)["repository"], "https://github.com/acme/churn.git")
        _git(self.repo, "remote", "remove", "origin")
        self.assertEqual(capture.git_info(self.repo)["repository"], "file://" + os.path.realpath(self.repo))

    def test_outside_git(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertIsNone(capture.git_info(d))
            with self.client.start_run("nogit", code_path=d, capture_environment=False) as run:
                pass
            self.assertIsNone(self.client.run(run.id).code_id)


class TriggerTest(unittest.TestCase):
    def test_ci_providers(self):
        cases = [
            ({"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "ana", "GITHUB_RUN_ID": "42", "GITHUB_REPOSITORY": "acme/churn",
              "GITHUB_SERVER_URL": "https://github.com"},
             {"kind": "CI", "actor": "ana", "externalId": "42", "url": "https://github.com/acme/churn/actions/runs/42"}),
            ({"GITLAB_CI": "true", "GITLAB_USER_LOGIN": "bo", "CI_PIPELINE_ID": "7",
              "CI_PIPELINE_URL": "https://gitlab.com/acme/churn/-/pipelines/7"},
             {"kind": "CI", "actor": "bo", "externalId": "7", "url": "https://gitlab.com/acme/churn/-/pipelines/7"}),
            ({"JENKINS_URL": "https://ci/", "BUILD_ID": "3", "BUILD_URL": "https://ci/job/churn/3/",
              "BUILD_USER_ID": "cy"},
             {"kind": "CI", "actor": "cy", "externalId": "3", "url": "https://ci/job/churn/3/"}),
        ]
        for env, want in cases:
            self.assertEqual(capture.trigger_info(env), want, env)
        manual = capture.trigger_info({})
        self.assertEqual(manual["kind"], "MANUAL")

    def test_environment_info(self):
        env = capture.environment_info()
        self.assertEqual(env["language"], "python")
        self.assertLessEqual(len(env["packages"]), 1000)
        names = [p["name"].lower() for p in env["packages"]]
        self.assertEqual(len(names), len(set(names)))


class TriggerOnServerTest(ServerTestCase):
    def test_ci_trigger_is_recorded(self):
        env = {"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "ana", "GITHUB_RUN_ID": "42", "GITHUB_REPOSITORY": "acme/churn"}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            with self.client.start_run("ci", capture_git=False, capture_environment=False) as run:
                pass
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        t = self.client.run(run.id).trigger
        self.assertEqual((t.kind, t.actor, t.external_id, t.url),
                         ("CI", "ana", "42", "https://github.com/acme/churn/actions/runs/42"))


if __name__ == "__main__":
    unittest.main()
