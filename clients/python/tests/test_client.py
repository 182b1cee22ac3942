"""Every typed helper against a real server, and the errors a user sees."""

import datetime
import unittest

from server import ServerTestCase, pedigree


def _digest(n: int) -> str:
    return "sha256:%064x" % n


class RegistryTest(ServerTestCase):
    """One story through the registry: data → run → model versions → stages → deployments."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        c = cls.client
        cls.dv = c.register_dataset_version("transactions", "s3://data/tx/v1", _digest(1), format="parquet", rows=1000,
                                            schema={"amount": "float64", "id": "int64"}, stats={"amount": {"mean": 3.5}},
                                            tags={"team": "risk"}, description="raw transactions")
        cls.dv2 = c.register_dataset_version("transactions", "s3://data/tx/v2", _digest(2), derived_from=[cls.dv])
        cls.splits = c.register_splits(cls.dv, {"train": 0.8, "test": 0.2}, strategy="random", seed=42)
        cls.fsv = c.register_feature_set_version("tx_features", {"amount_z": "float64"}, transformation="SELECT …",
                                                 sources=[cls.dv])
        cls.code = c.register_code_version("https://github.com/acme/churn.git", "a" * 40, branch="main", dirty=True,
                                           diff_digest=_digest(9))
        cls.env = c.register_environment("python", "3.11.9", packages={"numpy": "1.26.4", "xgboost": "2.0.3"},
                                         hardware={"gpu": "A100"})
        cls.env2 = c.register_environment("python", "3.11.9", packages={"numpy": "2.0.0"})
        train = [s for s in cls.splits if s.name == "train"][0]
        cls.run1 = c.start_run("churn", {"lr": 0.1, "depth": 6}, name="first", tags={"team": "risk"},
                               inputs={"train": train, "features": cls.fsv}, code=cls.code, environment=cls.env,
                               trigger={"kind": "SCHEDULE", "actor": "cron"}, capture_git=False)
        cls.run1.log_metrics({"auc": 0.81, "loss": 0.5}, step=1)
        cls.run1.finish(compute={"gpu_hours": 1.5})
        cls.run2 = c.start_run("churn", {"lr": 0.05, "depth": 8}, name="second", inputs=[cls.dv2], code=cls.code,
                               environment=cls.env2, capture_git=False, capture_environment=False)
        cls.run2.log_metrics({"auc": 0.87, "loss": 0.4}, step=1)
        cls.run2.finish()
        cls.v1 = c.register_model_version("churn", cls.run1, "s3://models/churn/1", framework="xgboost",
                                          signature={"inputs": ["amount"]}, tags={"owner": "ana"})
        cls.v2 = c.register_model_version("churn", cls.run2, "s3://models/churn/2", idempotency_key="v2-once")

    def test_dataset_version(self):
        dv = self.dv
        self.assertEqual((dv.dataset_name, dv.version, dv.format, dv.rows), ("transactions", 1, "parquet", 1000))
        self.assertEqual(dv.tags, {"team": "risk"})
        self.assertEqual(dv.stats, {"amount": {"mean": 3.5}})
        self.assertEqual({c["name"] for c in dv.schema}, {"amount", "id"})
        self.assertIsInstance(dv.created_at, datetime.datetime)
        self.assertEqual(self.dv2.version, 2)
        self.assertEqual([n.id for n in self.dv2.derived_from], [dv.id])
        again = self.client.register_dataset_version("transactions", "s3://data/tx/v1", _digest(1))
        self.assertEqual(again.id, dv.id, "same digest returns the same version")
        got = self.client.dataset_version("transactions", 1)
        self.assertEqual({s.name for s in got.splits}, {"train", "test"})

    def test_splits(self):
        by = {s.name: s for s in self.splits}
        self.assertEqual(by["train"].fraction, 0.8)
        self.assertEqual(by["train"].seed, 42)
        self.assertEqual(by["test"].strategy, "random")
        self.assertEqual(by["test"].dataset_version_id, self.dv.id)

    def test_feature_code_environment(self):
        self.assertEqual(self.fsv.features[0]["name"], "amount_z")
        self.assertEqual([s.id for s in self.fsv.sources], [self.dv.id])
        self.assertEqual(self.code.repository, "github.com/acme/churn")
        self.assertTrue(self.code.dirty)
        self.assertEqual(self.env.packages, {"numpy": "1.26.4", "xgboost": "2.0.3"})
        self.assertEqual(self.env.hardware, {"gpu": "A100"})

    def test_artifact(self):
        a = self.client.register_artifact("report", "s3://reports/r.html", _digest(3), type="report",
                                          media_type="text/html", run=self.run1, tags={"k": "v"})
        self.assertEqual((a.name, a.version, a.type, a.run_id), ("report", 1, "report", self.run1.id))

    def test_run_fields(self):
        r = self.client.run(self.run1.id)
        self.assertEqual(r.status, "FINISHED")
        self.assertEqual(r.params, {"depth": "6", "lr": "0.1"})
        self.assertEqual(r.tags, {"team": "risk"})
        self.assertEqual(r.metrics["auc"].last, 0.81)
        self.assertEqual(r.compute, {"gpu_hours": "1.5"})
        self.assertEqual(r.code_id, self.code.id)
        self.assertEqual(r.environment_id, self.env.id)
        self.assertEqual(r.trigger.kind, "SCHEDULE")
        self.assertEqual({(i.role, i.node.kind) for i in r.inputs}, {("train", "SPLIT"), ("features", "FEATURE_SET_VERSION")})
        self.assertIsNotNone(r.ended_at)

    def test_params_tags_inputs_outputs(self):
        c = self.client
        with c.start_run("misc", capture_git=False, capture_environment=False) as run:
            self.assertEqual(run.log_params({"a": 1, "b": "x"}).params, {"a": "1", "b": "x"})
            self.assertEqual(run.set_tags({"t": True}).tags, {"t": "true"})
            r = run.add_inputs([(self.dv, "eval"), self.dv2.id])
            self.assertEqual({(i.node.id, i.role) for i in r.inputs}, {(self.dv.id, "eval"), (self.dv2.id, "")})
            art = c.register_artifact("plot", "s3://p/plot.png", _digest(4))
            r = run.add_outputs(art)
            self.assertEqual([o.id for o in r.outputs], [art.id])
        self.assertEqual(c.run(run.id).status, "FINISHED")

    def test_plain_helpers_without_context_manager(self):
        c = self.client
        run = c.start_run("plain", capture_git=False, capture_environment=False)
        self.assertEqual(c.log_metrics(run, [("m", 1.0, 1), {"key": "m", "value": 2.0, "step": 2}]), 2)
        self.assertEqual(c.log_params(run.id, {"p": 1}).params, {"p": "1"})
        self.assertEqual(c.set_tags(run.id, {"t": 1}).tags, {"t": "1"})
        c.add_inputs(run.id, {"train": [self.dv.id]})
        c.add_outputs(run.id, self.dv2.id)
        r = c.finish_run(run.id, "KILLED")
        self.assertEqual(r.status, "KILLED")
        self.assertEqual([p.value for p in c.metric_history(run, "m")], [1.0, 2.0])

    def test_runs_filter_order_and_pages(self):
        c = self.client
        page = c.runs("metrics.auc > 0.8", order_by="metrics.auc DESC", experiment="churn")
        self.assertEqual([r.id for r in page], [self.run2.id, self.run1.id])
        self.assertFalse(page.has_next_page)
        first = c.runs(experiment="churn", first=1)
        self.assertEqual(len(first), 1)
        self.assertTrue(first.has_next_page)
        second = c.runs(experiment="churn", first=1, after=first.end_cursor)
        self.assertNotEqual(first[0].id, second[0].id)
        self.assertEqual(len(list(c.iter_runs(experiment="churn", page_size=1))), 2)
        self.assertEqual([r.name for r in c.runs("params.lr = '0.05'")], ["second"])

    def test_compare_runs(self):
        cmp = self.client.compare_runs([self.run1, self.run2])
        self.assertEqual(cmp.run_ids, [self.run1.id, self.run2.id])
        self.assertEqual(cmp.best("auc"), self.run2.id)
        self.assertEqual(cmp.best("loss"), self.run2.id)
        lr = [p for p in cmp.params if p["key"] == "lr"][0]
        self.assertEqual(lr["values"], ["0.1", "0.05"])
        self.assertTrue(lr["differs"])

    def test_model_lifecycle(self):
        c = self.client
        self.assertEqual((self.v1.version, self.v1.stage, self.v1.framework), (1, "NONE", "xgboost"))
        self.assertEqual(self.v1.signature, {"inputs": ["amount"]})
        again = c.register_model_version("churn", self.run2, "s3://models/churn/2", idempotency_key="v2-once")
        self.assertEqual(again.version, self.v2.version, "idempotency key returns the first result")

        c.transition_stage("churn", 1, "STAGING")
        v = c.transition_stage("churn", 1, "PRODUCTION", expected_stage="STAGING", reason="validated")
        self.assertEqual(v.stage, "PRODUCTION")
        self.assertEqual(v.transitions[-1].reason, "validated")
        with self.assertRaises(pedigree.Conflict) as cm:
            c.transition_stage("churn", 2, "PRODUCTION", expected_stage="STAGING")
        self.assertEqual(cm.exception.code, "CONFLICT")
        c.transition_stage("churn", 2, "PRODUCTION", expected_stage="NONE")
        self.assertEqual(c.model_version("churn", stage="PRODUCTION").version, 2)
        self.assertEqual(c.rollback("churn", reason="bad auc").version, 1)
        self.assertEqual(c.model_version("churn", stage="PRODUCTION").version, 1)

        self.assertEqual(c.set_alias("churn", "champion", 2).aliases, ["champion"])
        self.assertEqual(c.model_version("churn", alias="champion").version, 2)
        self.assertEqual(c.model_version("churn", 1).run_id, self.run1.id)
        self.assertEqual(c.model("churn").aliases, {"champion": 2})
        self.assertEqual(c.delete_alias("churn", "champion").aliases, {})

        d = c.record_deployment("churn", 1, "prod", "SUCCEEDED", endpoint="https://churn.internal", external_id="d-1")
        self.assertEqual((d.model, d.version, d.environment, d.status), ("churn", 1, "prod", "SUCCEEDED"))
        m = c.update_model("churn", description="churn model", auto_rollback=True)
        self.assertTrue(m.auto_rollback)
        self.assertEqual(m.description, "churn model")
        self.assertEqual([v.stage for v in m.latest_versions][0], "PRODUCTION")
        self.assertIn("churn", [x.name for x in c.models()])
        self.assertEqual([v.version for v in c.model_versions("churn")], [2, 1])

        types = [e.type for e in c.events("churn", first=100)]
        for t in ("MODEL_VERSION_REGISTERED", "STAGE_CHANGED", "ROLLED_BACK", "ALIAS_SET", "ALIAS_DELETED", "DEPLOYMENT_RECORDED"):
            self.assertIn(t, types)
        only = c.events("churn", types=["ROLLED_BACK"])
        self.assertEqual([e.type for e in only], ["ROLLED_BACK"])
        self.assertEqual(c.events("churn", after_seq=only[0].seq, types=["ROLLED_BACK"]), [])

    def test_diff_model_versions(self):
        d = self.client.diff_model_versions("churn", 1, 2)
        self.assertEqual((d.from_.version, d.to.version), (1, 2))
        self.assertEqual({p["key"]: (p["before"], p["after"]) for p in d.params}, {"lr": ("0.1", "0.05"), "depth": ("6", "8")})
        self.assertEqual({p["name"]: p["kind"] for p in d.environment}, {"numpy": "CHANGED", "xgboost": "REMOVED"})
        auc = [m for m in d.metrics if m["key"] == "auc"][0]
        self.assertAlmostEqual(auc["delta"], 0.06)
        self.assertTrue(d.data)

    def test_lineage_and_impact(self):
        c = self.client
        g = c.lineage(self.v1.id, depth=10)
        ids = g.ids()
        self.assertEqual(ids[0], self.v1.id)
        for want in (self.run1.id, self.dv.id, self.code.id, self.env.id, self.fsv.id):
            self.assertIn(want, ids)
        self.assertEqual(g.nodes[0].depth, 0)
        self.assertEqual(g.nodes[0].kind, "MODEL_VERSION")
        self.assertTrue(any(e.type == "USED" and e.role == "train" for e in g.edges))
        down = c.lineage(self.dv, "downstream", kinds=["MODEL_VERSION"])
        self.assertIn(self.v1.id, down.ids())
        self.assertFalse(down.truncated)

        imp = c.impact(self.dv)
        self.assertEqual(imp.of.id, self.dv.id)
        self.assertIn(self.run1.id, [r.id for r in imp.runs])
        versions = [v.version for vs in imp.model_versions.values() for v in vs]
        self.assertIn(1, versions)
        self.assertGreater(imp.total, 0)

    def test_query_plain(self):
        d = self.client.query("query($n: String!) { model(name: $n) { name } }", {"n": "churn"})
        self.assertEqual(d, {"model": {"name": "churn"}})
        self.assertEqual(self.client.node(self.dv.id)["kind"], "DATASET_VERSION")
        self.assertIsNone(self.client.node("dataset:nope"))


class ErrorTest(ServerTestCase):
    def test_unknown_model_is_not_found_with_field(self):
        with self.assertRaises(pedigree.NotFound) as cm:
            self.client.model("nope")
        e = cm.exception
        self.assertEqual((e.code, e.field, e.path), ("NOT_FOUND", "name", ["model"]))
        self.assertIn("nope", str(e))
        self.assertIsInstance(e, LookupError)
        with self.assertRaises(pedigree.NotFound):
            self.client.model_version("nope", 1)

    def test_bad_filter_is_bad_user_input_with_field(self):
        with self.assertRaises(pedigree.BadUserInput) as cm:
            self.client.runs("metrics.auc >> 1")
        self.assertEqual((cm.exception.code, cm.exception.field), ("BAD_USER_INPUT", "filter"))
        with self.assertRaises(pedigree.BadUserInput) as cm:
            self.client.runs(order_by="nonsense.x DESC")
        self.assertEqual(cm.exception.field, "orderBy")

    def test_bad_metric_point_names_the_point(self):
        run = self.client.start_run("errors", capture_git=False, capture_environment=False)
        with self.assertRaises(pedigree.BadUserInput) as cm:
            self.client.log_metrics(run, [{"key": "", "value": 1}])
        self.assertTrue(cm.exception.field.startswith("points[0]"), cm.exception.field)
        with self.assertRaises(ValueError):
            run.log_metric("x", float("nan"))
        run.finish()

    def test_invalid_query(self):
        with self.assertRaises(pedigree.InvalidQuery) as cm:
            self.client.query("{ nope }")
        self.assertEqual(cm.exception.code, "GRAPHQL_VALIDATION_FAILED")
        with self.assertRaises(pedigree.InvalidQuery) as cm:
            self.client.query("{ model(name: ")
        self.assertEqual(cm.exception.code, "GRAPHQL_PARSE_FAILED")

    def test_conflict_and_bad_input_on_mutations(self):
        c = self.client
        with self.assertRaises(pedigree.BadUserInput) as cm:
            c.register_dataset_version("", "s3://x", _digest(1))
        self.assertEqual(cm.exception.field, "dataset")
        with self.assertRaises(pedigree.NotFound):
            c.transition_stage("ghost", 1, "PRODUCTION")

    def test_token_is_sent(self):
        seen = {}
        client = pedigree.Client(self.server.url, token="s3cret")
        orig = client._open

        def spy(req, what):
            seen["auth"] = req.get_header("Authorization")
            return orig(req, what)

        client._open = spy
        client.models()
        self.assertEqual(seen["auth"], "Bearer s3cret")


class UnreachableTest(unittest.TestCase):
    def test_unreachable_server(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()  # nothing listens there now
        c = pedigree.Client("http://127.0.0.1:%d" % port, timeout=5)
        with self.assertRaises(pedigree.PedigreeUnavailable) as cm:
            c.models()
        self.assertIsInstance(cm.exception, ConnectionError)
        self.assertEqual(cm.exception.code, "UNAVAILABLE")
        self.assertIn("cannot reach Pedigree at http://127.0.0.1:%d" % port, str(cm.exception))
        self.assertIn("connection refused", str(cm.exception))

    def test_error_codes_map_to_classes(self):
        from pedigree.errors import error_for
        cases = {"BAD_USER_INPUT": pedigree.BadUserInput, "NOT_FOUND": pedigree.NotFound, "CONFLICT": pedigree.Conflict,
                 "UNAVAILABLE": pedigree.PedigreeUnavailable, "INTERNAL": pedigree.Internal,
                 "UNAUTHENTICATED": pedigree.Unauthenticated, "FORBIDDEN": pedigree.Forbidden,
                 "TIMEOUT": pedigree.PedigreeTimeout, "COMPLEXITY_LIMIT_EXCEEDED": pedigree.InvalidQuery,
                 "SOMETHING_NEW": pedigree.PedigreeError}
        for code, cls in cases.items():
            e = error_for("m", code, "f")
            self.assertIs(type(e), cls, code)
            self.assertEqual((e.code, e.field), (code, "f"))

    def test_url_defaults(self):
        self.assertEqual(pedigree.Client("http://h:1/graphql/").url, "http://h:1")
        self.assertEqual(pedigree.Client().url.startswith("http"), True)


if __name__ == "__main__":
    unittest.main()
