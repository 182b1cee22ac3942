"""to_dataframe() without pandas (a clear ImportError) and with a stand-in
pandas module injected into sys.modules (the conversion logic)."""

import datetime
import sys
import types
import unittest
from unittest import mock

from server import pedigree  # noqa: F401 - puts the package on sys.path
from pedigree.types import MetricHistory, MetricPoint, MetricSummary, Page, Run, RunComparison


class FakeDataFrame:
    def __init__(self, data=None, index=None, columns=None):
        self.data, self.index, self.columns = data, index, columns


def fake_pandas():
    m = types.ModuleType("pandas")
    m.DataFrame = FakeDataFrame
    return m


def runs():
    t = datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)
    return [
        Run(id="run:1", name="a", experiment="churn", status="FINISHED", started_at=t, params={"lr": "0.1"},
            metrics={"auc": MetricSummary(key="auc", last=0.8)}, tags={"team": "risk"}),
        Run(id="run:2", name="b", experiment="churn", status="RUNNING", started_at=t, params={"depth": "6"},
            metrics={"loss": MetricSummary(key="loss", last=0.4)}),
    ]


class FramesTest(unittest.TestCase):
    def test_without_pandas(self):
        with mock.patch.dict(sys.modules, {"pandas": None}):
            with self.assertRaises(ImportError) as cm:
                Page(runs(), None, False).to_dataframe()
        self.assertIn("pip install pandas", str(cm.exception))

    def test_runs_frame(self):
        with mock.patch.dict(sys.modules, {"pandas": fake_pandas()}):
            df = Page(runs(), None, False).to_dataframe()
        self.assertEqual(df.columns, ["run_id", "name", "experiment", "status", "started_at", "ended_at",
                                      "params.depth", "params.lr", "metrics.auc", "metrics.loss", "tags.team"])
        self.assertEqual(df.data[0]["metrics.auc"], 0.8)
        self.assertNotIn("params.depth", df.data[0])
        self.assertEqual(df.data[1]["params.depth"], "6")

    def test_comparison_frame(self):
        cmp = RunComparison(runs=runs(), params=[{"key": "lr", "values": ["0.1", None], "differs": True}],
                            metrics=[{"key": "auc", "lastValues": [0.8, None]}])
        with mock.patch.dict(sys.modules, {"pandas": fake_pandas()}):
            df = cmp.to_dataframe()
        self.assertEqual((df.index, df.columns), (["params.lr", "metrics.auc"], ["run:1", "run:2"]))
        self.assertEqual(df.data, [["0.1", None], [0.8, None]])

    def test_history_frame(self):
        h = MetricHistory([MetricPoint(key="loss", value=0.5, step=1), MetricPoint(key="loss", value=0.4, step=2)])
        with mock.patch.dict(sys.modules, {"pandas": fake_pandas()}):
            df = h.to_dataframe()
        self.assertEqual(df.columns, ["key", "step", "value", "timestamp"])
        self.assertEqual([r["value"] for r in df.data], [0.5, 0.4])


class TimeTest(unittest.TestCase):
    def test_parse_and_format(self):
        from pedigree.types import format_time, parse_time
        t = parse_time("2024-05-01T12:30:00.1234567Z")
        self.assertEqual((t.microsecond, t.utcoffset()), (123456, datetime.timedelta(0)))
        self.assertEqual(parse_time("2024-05-01T12:30:00Z").hour, 12)
        self.assertEqual(format_time(datetime.datetime(2024, 5, 1, 12, 30)), "2024-05-01T12:30:00Z")
        self.assertEqual(format_time(0), "1970-01-01T00:00:00Z")


if __name__ == "__main__":
    unittest.main()
