"""Dataclasses for the entities the client returns.

Each is built from the GraphQL response by ``from_dict``; field names are the
schema's in snake_case, maps (params, tags, hardware, compute) are plain
dicts, times are timezone-aware ``datetime`` objects, and ``raw`` keeps the
response object as received for anything not modelled here.
"""

import dataclasses
import datetime as _dt
import re
from typing import Any, Dict, Generic, Iterator, List, Optional, TypeVar

from . import frames

T = TypeVar("T")

__all__ = [
    "NodeRef", "KeyValueMap", "ArtifactLocation", "DatasetVersion", "Split", "FeatureSetVersion",
    "CodeVersion", "Environment", "Artifact", "Trigger", "MetricSummary", "MetricPoint",
    "MetricHistory", "RunInputRef", "Run", "Model", "ModelVersion", "StageTransition", "Deployment",
    "LineageNode", "LineageEdge", "LineageGraph", "Impact", "RunComparison", "ModelVersionDiff",
    "ModelEvent", "Page", "parse_time", "format_time",
]

_FRACTION = re.compile(r"\.(\d+)")


def parse_time(v: Optional[str]) -> Optional[_dt.datetime]:
    """Parses an RFC 3339 time as the server writes it (Python 3.9's fromisoformat needs help)."""
    if v is None or isinstance(v, _dt.datetime):
        return v
    s = v.replace("Z", "+00:00").replace("z", "+00:00")
    s = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], s, count=1)
    return _dt.datetime.fromisoformat(s)


def format_time(t: Any) -> Optional[str]:
    """Formats a datetime (naive means UTC) or a Unix timestamp as RFC 3339; strings pass through."""
    if t is None or isinstance(t, str):
        return t
    if isinstance(t, (int, float)):
        t = _dt.datetime.fromtimestamp(t, _dt.timezone.utc)
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    return t.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")


def _kv(items: Optional[List[Dict[str, str]]]) -> Dict[str, str]:
    return {i["key"]: i["value"] for i in items or []}


KeyValueMap = Dict[str, str]


def _camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class _Entity:
    """from_dict for dataclasses: camelCase keys, converters in field metadata."""

    @classmethod
    def from_dict(cls, d: Optional[Dict[str, Any]]):
        if d is None:
            return None
        kw = {}
        for f in dataclasses.fields(cls):
            if f.name == "raw":
                kw["raw"] = d
                continue
            key = f.metadata.get("key", _camel(f.name))
            if key not in d:
                continue
            v = d[key]
            conv = f.metadata.get("conv")
            kw[f.name] = conv(v) if conv and v is not None else v
        return cls(**kw)


def _field(conv=None, key=None, default=None, factory=None):
    md = {}
    if conv is not None:
        md["conv"] = conv
    if key is not None:
        md["key"] = key
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=md)
    return dataclasses.field(default=default, metadata=md)


def _time(default=None):
    return _field(parse_time, default=default)


def _raw():
    return dataclasses.field(default_factory=dict, repr=False, compare=False)


def _list_of(cls):
    return lambda v: [cls.from_dict(x) for x in v]


def _id_of(v):
    return v.get("id") if isinstance(v, dict) else v


@dataclasses.dataclass
class NodeRef(_Entity):
    """Any node of the lineage graph, by ID, kind and label."""

    id: str = ""
    kind: str = ""
    label: str = ""
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class ArtifactLocation(_Entity):
    """Where an artifact's bytes are (a stored blob when verified)."""

    uri: str = ""
    digest: Optional[str] = None
    size: Optional[int] = None
    verified: bool = False
    download_url: Optional[str] = None
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class Split(_Entity):
    id: str = ""
    name: str = ""
    label: str = ""
    dataset_version_id: str = ""
    digest: str = ""
    rows: Optional[int] = None
    fraction: Optional[float] = None
    strategy: str = ""
    seed: Optional[int] = None
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class DatasetVersion(_Entity):
    id: str = ""
    label: str = ""
    dataset_name: str = ""
    version: int = 0
    uri: str = ""
    digest: str = ""
    format: str = ""
    rows: Optional[int] = None
    schema: List[Dict[str, str]] = _field(factory=list)
    stats: Any = None
    description: str = ""
    tags: Dict[str, str] = _field(_kv, factory=dict)
    location: Optional[ArtifactLocation] = _field(ArtifactLocation.from_dict)
    splits: List[Split] = _field(_list_of(Split), factory=list)
    derived_from: List[NodeRef] = _field(_list_of(NodeRef), factory=list)
    created_at: Optional[_dt.datetime] = _time()
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class FeatureSetVersion(_Entity):
    id: str = ""
    label: str = ""
    feature_set_name: str = ""
    version: int = 0
    digest: str = ""
    features: List[Dict[str, str]] = _field(factory=list)
    transformation: str = ""
    sources: List[NodeRef] = _field(_list_of(NodeRef), factory=list)
    description: str = ""
    tags: Dict[str, str] = _field(_kv, factory=dict)
    created_at: Optional[_dt.datetime] = _time()
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class CodeVersion(_Entity):
    id: str = ""
    label: str = ""
    repository: str = ""
    commit: str = ""
    branch: str = ""
    path: str = ""
    dirty: bool = False
    diff_digest: str = ""
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class Environment(_Entity):
    id: str = ""
    label: str = ""
    digest: str = ""
    language: str = ""
    language_version: str = ""
    packages: Dict[str, str] = _field(lambda v: {p["name"]: p["version"] for p in v}, factory=dict)
    image_digest: str = ""
    hardware: Dict[str, str] = _field(_kv, factory=dict)
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class Artifact(_Entity):
    id: str = ""
    label: str = ""
    name: str = ""
    version: int = 0
    type: str = ""
    uri: str = ""
    digest: str = ""
    media_type: str = ""
    size: Optional[int] = None
    location: Optional[ArtifactLocation] = _field(ArtifactLocation.from_dict)
    run_id: Optional[str] = _field(_id_of, key="run")
    description: str = ""
    tags: Dict[str, str] = _field(_kv, factory=dict)
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class Trigger(_Entity):
    kind: Optional[str] = None
    actor: str = ""
    external_id: str = ""
    url: str = ""
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class MetricSummary(_Entity):
    key: str = ""
    last: float = 0.0
    last_step: int = 0
    min: float = 0.0
    max: float = 0.0
    count: int = 0
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class MetricPoint(_Entity):
    key: str = ""
    value: float = 0.0
    step: int = 0
    timestamp: Optional[_dt.datetime] = _time()
    raw: Dict[str, Any] = _raw()


class MetricHistory(List[MetricPoint]):
    """A metric's points, ordered by step then timestamp."""

    def to_dataframe(self):
        """A DataFrame with columns key, step, value, timestamp (needs pandas)."""
        return frames.history_frame(self)


@dataclasses.dataclass
class RunInputRef(_Entity):
    role: str = ""
    node: Optional[NodeRef] = _field(NodeRef.from_dict)
    raw: Dict[str, Any] = _raw()


def _metric_map(v: Dict[str, Dict[str, Any]]) -> Dict[str, MetricSummary]:
    return {k: MetricSummary.from_dict(dict(s, key=k)) for k, s in v.items()}


@dataclasses.dataclass
class Run(_Entity):
    """A run; ``metrics`` maps each key to its summary (last, min, max, count)."""

    id: str = ""
    name: str = ""
    label: str = ""
    experiment: str = _field(key="experimentName", default="")
    pipeline: str = _field(key="pipelineName", default="")
    status: str = ""
    started_at: Optional[_dt.datetime] = _time()
    ended_at: Optional[_dt.datetime] = _time()
    description: str = ""
    params: Dict[str, str] = _field(key="paramMap", factory=dict)
    tags: Dict[str, str] = _field(key="tagMap", factory=dict)
    metrics: Dict[str, MetricSummary] = _field(_metric_map, key="metricMap", factory=dict)
    trigger: Optional[Trigger] = _field(Trigger.from_dict)
    compute: Dict[str, str] = _field(_kv, factory=dict)
    code_id: Optional[str] = _field(_id_of, key="code")
    environment_id: Optional[str] = _field(_id_of, key="environment")
    parent_id: Optional[str] = _field(_id_of, key="parent")
    inputs: Optional[List[RunInputRef]] = _field(_list_of(RunInputRef))
    outputs: Optional[List[NodeRef]] = _field(_list_of(NodeRef))
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class StageTransition(_Entity):
    from_: str = _field(key="from", default="")
    to: str = ""
    actor: str = ""
    reason: str = ""
    at: Optional[_dt.datetime] = _time()
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class ModelVersion(_Entity):
    id: str = ""
    label: str = ""
    model: str = _field(key="modelName", default="")
    version: int = 0
    run_id: str = ""
    artifact_uri: str = ""
    artifact_digest: str = ""
    artifact: Optional[ArtifactLocation] = _field(ArtifactLocation.from_dict)
    framework: str = ""
    signature: Any = None
    stage: str = ""
    aliases: List[str] = _field(factory=list)
    description: str = ""
    tags: Dict[str, str] = _field(_kv, factory=dict)
    transitions: List[StageTransition] = _field(_list_of(StageTransition), factory=list)
    created_at: Optional[_dt.datetime] = _time()
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class Model(_Entity):
    id: str = ""
    name: str = ""
    description: str = ""
    auto_rollback: bool = False
    tags: Dict[str, str] = _field(_kv, factory=dict)
    aliases: Dict[str, int] = _field(lambda v: {a["alias"]: a["version"] for a in v}, factory=dict)
    latest_versions: List[ModelVersion] = _field(_list_of(ModelVersion), factory=list)
    created_at: Optional[_dt.datetime] = _time()
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class Deployment(_Entity):
    id: str = ""
    label: str = ""
    model: str = _field(key="modelName", default="")
    version: int = 0
    environment: str = ""
    status: str = ""
    endpoint: str = ""
    external_id: str = ""
    url: str = ""
    message: str = ""
    decommission_requested: bool = False
    updated_at: Optional[_dt.datetime] = _time()
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class LineageNode(_Entity):
    id: str = _field(lambda n: n["id"], key="node", default="")
    depth: int = 0
    raw: Dict[str, Any] = _raw()

    @property
    def kind(self) -> str:
        return self.raw["node"]["kind"]

    @property
    def label(self) -> str:
        return self.raw["node"]["label"]


@dataclasses.dataclass
class LineageEdge(_Entity):
    from_: str = _field(key="from", default="")
    to: str = ""
    type: str = ""
    role: str = ""
    created_at: Optional[_dt.datetime] = _time()
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class LineageGraph(_Entity):
    nodes: List[LineageNode] = _field(_list_of(LineageNode), factory=list)
    edges: List[LineageEdge] = _field(_list_of(LineageEdge), factory=list)
    truncated: bool = False
    raw: Dict[str, Any] = _raw()

    def ids(self) -> List[str]:
        """Every node ID, breadth-first."""
        return [n.id for n in self.nodes]


@dataclasses.dataclass
class Impact(_Entity):
    of: Optional[NodeRef] = _field(NodeRef.from_dict)
    runs: List[NodeRef] = _field(_list_of(NodeRef), factory=list)
    data: List[NodeRef] = _field(_list_of(NodeRef), factory=list)
    model_versions: Dict[str, List[ModelVersion]] = _field(
        lambda v: {g["stage"]: [ModelVersion.from_dict(x) for x in g["versions"]] for g in v}, factory=dict)
    deployments: List[Deployment] = _field(_list_of(Deployment), factory=list)
    total: int = 0
    truncated: bool = False
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class RunComparison(_Entity):
    """Runs side by side. params/metrics/inputs are the server's rows as dicts."""

    runs: List[Run] = _field(_list_of(Run), factory=list)
    params: List[Dict[str, Any]] = _field(factory=list)
    metrics: List[Dict[str, Any]] = _field(factory=list)
    inputs: List[Dict[str, Any]] = _field(factory=list)
    code: List[Dict[str, Any]] = _field(factory=list)
    raw: Dict[str, Any] = _raw()

    @property
    def run_ids(self) -> List[str]:
        return [r.id for r in self.runs]

    def best(self, metric: str) -> Optional[str]:
        """ID of the run with the best last value of a metric."""
        for m in self.metrics:
            if m["key"] == metric:
                return m.get("bestRunId")
        return None

    def to_dataframe(self):
        """One row per param/metric (params.X, metrics.X with last values), one column per run (needs pandas)."""
        return frames.comparison_frame(self)


@dataclasses.dataclass
class ModelVersionDiff(_Entity):
    """What changed between two model versions; the lists are the server's rows as dicts."""

    from_: Optional[ModelVersion] = _field(ModelVersion.from_dict, key="from")
    to: Optional[ModelVersion] = _field(ModelVersion.from_dict)
    data: List[Dict[str, Any]] = _field(factory=list)
    features: List[Dict[str, Any]] = _field(factory=list)
    code: List[Dict[str, Any]] = _field(factory=list)
    environment: List[Dict[str, Any]] = _field(factory=list)
    params: List[Dict[str, Any]] = _field(factory=list)
    metrics: List[Dict[str, Any]] = _field(factory=list)
    raw: Dict[str, Any] = _raw()


@dataclasses.dataclass
class ModelEvent(_Entity):
    id: str = ""
    seq: int = 0
    model_seq: int = 0
    type: str = ""
    model: Optional[str] = None
    version: Optional[int] = None
    payload: Any = None
    created_at: Optional[_dt.datetime] = _time()
    raw: Dict[str, Any] = _raw()


class Page(Generic[T]):
    """One page of a connection: iterable and indexable, with the cursor of the next page."""

    def __init__(self, items: List[T], end_cursor: Optional[str], has_next_page: bool) -> None:
        self.items = items
        self.end_cursor = end_cursor
        self.has_next_page = has_next_page

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]

    def __repr__(self) -> str:
        return "Page(%d items, has_next_page=%s, end_cursor=%r)" % (len(self.items), self.has_next_page, self.end_cursor)

    def to_dataframe(self):
        """Runs as a DataFrame: one row per run, params.X / metrics.X / tags.X columns (needs pandas)."""
        return frames.runs_frame(self.items)
