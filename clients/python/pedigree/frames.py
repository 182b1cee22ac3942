"""DataFrame conversions. pandas is optional: it is imported only when a
to_dataframe() helper is called, and its absence is a clear ImportError."""

import importlib
from typing import Any, Dict, Iterable, List

__all__ = ["require_pandas", "runs_frame", "comparison_frame", "history_frame", "runs_records"]


def require_pandas():
    """Returns the pandas module, or raises ImportError saying how to get it."""
    try:
        return importlib.import_module("pandas")
    except ImportError as e:
        raise ImportError(
            "to_dataframe() needs pandas, which is not installed; install it with "
            "`pip install pandas` (the rest of the Pedigree client works without it)"
        ) from e


def runs_records(runs: Iterable[Any]) -> List[Dict[str, Any]]:
    """One flat dict per run: id, name, experiment, status, times, params.X, metrics.X (last value), tags.X."""
    out = []
    for r in runs:
        rec: Dict[str, Any] = {
            "run_id": r.id,
            "name": r.name,
            "experiment": r.experiment,
            "status": r.status,
            "started_at": r.started_at,
            "ended_at": r.ended_at,
        }
        for k, v in sorted(r.params.items()):
            rec["params." + k] = v
        for k, s in sorted(r.metrics.items()):
            rec["metrics." + k] = s.last
        for k, v in sorted(r.tags.items()):
            rec["tags." + k] = v
        out.append(rec)
    return out


def _columns(records: List[Dict[str, Any]], first: List[str]) -> List[str]:
    cols = list(first)
    seen = set(cols)
    for prefix in ("params.", "metrics.", "tags."):
        extra = sorted({k for r in records for k in r if k.startswith(prefix)} - seen)
        cols.extend(extra)
        seen.update(extra)
    return cols


def runs_frame(runs: Iterable[Any]):
    pd = require_pandas()
    records = runs_records(runs)
    cols = _columns(records, ["run_id", "name", "experiment", "status", "started_at", "ended_at"])
    return pd.DataFrame(records, columns=cols)


def comparison_frame(cmp: Any):
    pd = require_pandas()
    ids = [r.id for r in cmp.runs]
    rows, index = [], []
    for p in cmp.params:
        index.append("params." + p["key"])
        rows.append(list(p["values"]))
    for m in cmp.metrics:
        index.append("metrics." + m["key"])
        rows.append(list(m["lastValues"]))
    return pd.DataFrame(rows, index=index, columns=ids)


def history_frame(points: Iterable[Any]):
    pd = require_pandas()
    records = [{"key": p.key, "step": p.step, "value": p.value, "timestamp": p.timestamp} for p in points]
    return pd.DataFrame(records, columns=["key", "step", "value", "timestamp"])
