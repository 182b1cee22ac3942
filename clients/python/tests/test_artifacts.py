"""Artifact upload (PUT /artifacts/, streamed, digest declared) and the
register helpers that take file=path."""

import hashlib
import os
import tempfile
import unittest
import urllib.request

from server import ServerTestCase, pedigree


class ArtifactTest(ServerTestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "model.bin")
        with open(self.path, "wb") as f:
            for i in range(5):  # 5 MiB, more than one read chunk
                f.write(hashlib.sha256(str(i).encode()).digest() * (1 << 15))
        with open(self.path, "rb") as f:
            self.data = f.read()
        self.digest = "sha256:" + hashlib.sha256(self.data).hexdigest()

    def tearDown(self):
        self.tmp.cleanup()

    def test_upload_round_trip(self):
        loc = self.client.upload_artifact(self.path)
        self.assertEqual((loc.digest, loc.size, loc.verified), (self.digest, len(self.data), True))
        self.assertEqual(loc.uri, "pedigree://artifacts/sha256/" + self.digest[7:])
        with urllib.request.urlopen(self.server.url + loc.download_url) as resp:
            self.assertEqual(resp.headers["X-Pedigree-Digest"], self.digest)
            self.assertEqual(resp.read(), self.data)
        out = os.path.join(self.tmp.name, "back.bin")
        self.client.download_artifact(loc, out)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), self.data)
        again = self.client.upload_artifact(self.path)
        self.assertEqual(again.digest, loc.digest, "uploading the same bytes again is harmless")

    def test_wrong_declared_digest_is_refused(self):
        with self.assertRaises(pedigree.BadUserInput) as cm:
            self.client.upload_artifact(self.path, digest="sha256:" + "0" * 64)
        self.assertEqual(cm.exception.field, "digest")

    def test_download_unknown(self):
        with self.assertRaises(pedigree.NotFound):
            self.client.download_artifact("sha256:" + "1" * 64, os.path.join(self.tmp.name, "x"))

    def test_register_model_version_from_file(self):
        with self.client.start_run("artifacts", capture_git=False, capture_environment=False) as run:
            mv = run.register_model("uploaded", file=self.path, framework="sklearn")
            art = run.log_artifact(self.path, "weights", type="checkpoint")
        self.assertEqual(mv.artifact_digest, self.digest)
        self.assertTrue(mv.artifact.verified)
        self.assertEqual(mv.artifact.size, len(self.data))
        self.assertEqual(mv.artifact.download_url, "/artifacts/sha256/" + self.digest[7:])
        self.assertEqual((art.digest, art.run_id, art.type), (self.digest, run.id, "checkpoint"))
        dv = self.client.register_dataset_version("uploaded-data", file=self.path, format="bin")
        self.assertEqual(dv.digest, self.digest)
        self.assertTrue(dv.location.verified)
        got = self.client.model_version("uploaded", 1)
        self.assertEqual(got.artifact_uri, mv.artifact_uri)


if __name__ == "__main__":
    unittest.main()
