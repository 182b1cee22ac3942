"""The Pedigree client: plain GraphQL over urllib, typed helpers for every
mutation and the main queries, and artifact upload/download."""

import hashlib
import json
import os
import shutil
import socket
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from . import capture
from .errors import PedigreeError, PedigreeUnavailable, error_for
from .run import ActiveRun
from .types import (
    Artifact, ArtifactLocation, CodeVersion, DatasetVersion, Deployment, Environment, FeatureSetVersion,
    Impact, LineageGraph, MetricHistory, MetricPoint, MetricSummary, Model, ModelEvent, ModelVersion,
    ModelVersionDiff, Page, Run, RunComparison, Split, format_time,
)

__all__ = ["Client", "DEFAULT_URL"]

DEFAULT_URL = "http://127.0.0.1:8080"
METRICS_PER_CALL = 10000  # the server's limit per logMetrics call
_CHUNK = 1 << 20

# --- selections --------------------------------------------------------------

NODE = "id kind label"
LOCATION = "uri digest size verified downloadUrl"
SPLIT = "id name label datasetVersionId digest rows fraction strategy seed"
DATASET_VERSION = ("id label datasetName version uri digest format rows schema { name type } stats description "
                   "tags { key value } location { %s } splits { %s } derivedFrom { %s } createdAt") % (LOCATION, SPLIT, NODE)
FEATURE_SET_VERSION = ("id label featureSetName version digest features { name type description } transformation "
                       "sources { %s } description tags { key value } createdAt") % NODE
CODE_VERSION = "id label repository commit branch path dirty diffDigest"
ENVIRONMENT = "id label digest language languageVersion packages { name version } imageDigest hardware { key value }"
ARTIFACT = ("id label name version type uri digest mediaType size location { %s } run { id } description "
            "tags { key value }") % LOCATION
RUN_SUMMARY = ("id name label experimentName pipelineName status startedAt endedAt description paramMap tagMap "
               "metricMap trigger { kind actor externalId url } code { id } environment { id } parent { id }")
RUN = RUN_SUMMARY + " compute { key value } inputs { role node { %s } } outputs { %s }" % (NODE, NODE)
MODEL_VERSION = ("id label modelName version runId artifactUri artifactDigest artifact { %s } framework signature "
                 "stage aliases description tags { key value } transitions { from to actor reason at } createdAt") % LOCATION
MODEL_VERSION_SHORT = "id label modelName version runId artifactUri artifactDigest framework stage aliases createdAt"
MODEL = ("id name description autoRollback tags { key value } aliases { alias version } "
         "latestVersions { %s } createdAt") % MODEL_VERSION_SHORT
DEPLOYMENT = ("id label modelName version environment status endpoint externalId url message "
              "decommissionRequested updatedAt")
PAGE = "pageInfo { hasNextPage endCursor }"

Ref = Union[str, Any]  # an ID, or anything with an .id (the dataclasses here, ActiveRun)


def _id(x: Ref) -> str:
    return x if isinstance(x, str) else x.id


def _kvs(m: Optional[Mapping[str, Any]]) -> Optional[List[Dict[str, str]]]:
    if m is None:
        return None
    return [{"key": str(k), "value": v if isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else str(v)}
            for k, v in m.items()]


def _clean(d: Dict[str, Any]) -> Dict[str, Any]:
    """Drops None values: omitted input fields keep their server defaults."""
    return {k: v for k, v in d.items() if v is not None}


def run_inputs(inputs: Any) -> List[Dict[str, Any]]:
    """Normalizes run inputs to [{"node", "role"}]. Accepts a dict role → node(s),
    a list of nodes, (node, role) pairs or {"node", "role"} dicts; a node is an ID
    or anything with an .id."""
    if inputs is None:
        return []
    out: List[Dict[str, Any]] = []
    if isinstance(inputs, Mapping):
        for role, nodes in inputs.items():
            if isinstance(nodes, (list, tuple)):
                out.extend({"node": _id(n), "role": role} for n in nodes)
            else:
                out.append({"node": _id(nodes), "role": role})
        return out
    if isinstance(inputs, str) or hasattr(inputs, "id"):
        inputs = [inputs]
    for i in inputs:
        if isinstance(i, Mapping):
            out.append(_clean({"node": _id(i["node"]), "role": i.get("role")}))
        elif isinstance(i, tuple):
            out.append(_clean({"node": _id(i[0]), "role": i[1] if len(i) > 1 else None}))
        else:
            out.append({"node": _id(i)})
    return out


def _point(p: Any) -> Dict[str, Any]:
    if isinstance(p, Mapping):
        d = {"key": p["key"], "value": float(p["value"])}
        if p.get("step") is not None:
            d["step"] = int(p["step"])
        if p.get("timestamp") is not None:
            d["timestamp"] = format_time(p["timestamp"])
        return d
    if isinstance(p, MetricPoint):
        return _point({"key": p.key, "value": p.value, "step": p.step, "timestamp": p.timestamp})
    key, value, *rest = p  # (key, value[, step[, timestamp]])
    return _point({"key": key, "value": value, "step": rest[0] if rest else None,
                   "timestamp": rest[1] if len(rest) > 1 else None})


def sha256_file(path: str) -> Tuple[str, int]:
    """The sha256:… digest and size of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
            size += len(chunk)
    return "sha256:" + h.hexdigest(), size


class Client:
    """A connection to a Pedigree server.

    Args:
        url: the server, e.g. http://127.0.0.1:8080 (default: $PEDIGREE_URL or that).
        token: a bearer token (default: $PEDIGREE_TOKEN, if set).
        timeout: seconds to wait for each request.
    """

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None, timeout: float = 30) -> None:
        url = url or os.environ.get("PEDIGREE_URL") or DEFAULT_URL
        self.url = url.rstrip("/")
        if self.url.endswith("/graphql"):
            self.url = self.url[: -len("/graphql")]
        self.token = token if token is not None else os.environ.get("PEDIGREE_TOKEN") or None
        self.timeout = timeout

    def __repr__(self) -> str:
        return "Client(%r)" % self.url

    # --- transport ------------------------------------------------------------

    def _headers(self, extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
        h = {"Accept": "application/json", "User-Agent": "pedigree-python/0.1"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if extra:
            h.update(extra)
        return h

    def _open(self, req: urllib.request.Request, what: str):
        """urlopen, with HTTP errors returned (their bodies carry codes) and
        network failures turned into PedigreeUnavailable."""
        try:
            return urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            return e
        except urllib.error.URLError as e:
            reason = e.reason
            if isinstance(reason, (socket.timeout, TimeoutError)):
                detail = "no answer within %gs" % self.timeout
            elif isinstance(reason, ConnectionRefusedError):
                detail = "connection refused (is `pedigree serve` running there?)"
            else:
                detail = str(getattr(reason, "strerror", None) or reason)
            raise PedigreeUnavailable("cannot reach Pedigree at %s (%s): %s" % (self.url, what, detail)) from e
        except (socket.timeout, TimeoutError) as e:
            raise PedigreeUnavailable("cannot reach Pedigree at %s (%s): no answer within %gs" % (self.url, what, self.timeout)) from e
        except (ConnectionError, OSError) as e:
            raise PedigreeUnavailable("cannot reach Pedigree at %s (%s): %s" % (self.url, what, e)) from e

    @staticmethod
    def _http_error(status: int, body: bytes, what: str) -> PedigreeError:
        try:
            d = json.loads(body.decode("utf-8"))
        except ValueError:
            d = None
        if isinstance(d, dict) and d.get("errors"):
            e = d["errors"][0]
            ext = e.get("extensions") or {}
            return error_for(e.get("message", ""), ext.get("code"), ext.get("field"), e.get("path"), d["errors"], d.get("data"))
        if isinstance(d, dict) and d.get("code"):
            return error_for(d.get("message", ""), d["code"], d.get("field") or None)
        text = body.decode("utf-8", "replace").strip()[:200]
        code = {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT",
                413: "BAD_USER_INPUT"}.get(status, "UNAVAILABLE" if status in (502, 503, 504) else "INTERNAL")
        return error_for("%s: HTTP %d%s" % (what, status, ": " + text if text else ""), code)

    def query(self, document: str, variables: Optional[Mapping[str, Any]] = None,
              operation_name: Optional[str] = None) -> Dict[str, Any]:
        """Runs a GraphQL document and returns its ``data``.

        Raises the PedigreeError subclass of the first error's extensions.code
        (every error is in ``.errors``, partial data in ``.data``)."""
        body: Dict[str, Any] = {"query": document}
        if variables:
            body["variables"] = variables
        if operation_name:
            body["operationName"] = operation_name
        data = json.dumps(body, allow_nan=False).encode("utf-8")
        req = urllib.request.Request(self.url + "/graphql", data=data, method="POST",
                                     headers=self._headers({"Content-Type": "application/json"}))
        resp = self._open(req, "POST /graphql")
        with resp:
            status = resp.status if hasattr(resp, "status") else resp.code
            raw = resp.read()
        try:
            d = json.loads(raw.decode("utf-8"))
        except ValueError:
            raise self._http_error(status, raw, "POST /graphql") from None
        if not isinstance(d, dict):
            raise self._http_error(status, raw, "POST /graphql")
        errs = d.get("errors")
        if errs:
            e = errs[0]
            ext = e.get("extensions") or {}
            raise error_for(e.get("message", ""), ext.get("code"), ext.get("field"), e.get("path"), errs, d.get("data"))
        if status >= 400 or "data" not in d:
            raise self._http_error(status, raw, "POST /graphql")
        return d["data"]

    def _mutate(self, name: str, input_type: str, selection: str, inp: Dict[str, Any],
                idempotency_key: Optional[str] = None) -> Any:
        """Runs mutation name(input: …) { selection } with None fields of input left out."""
        decl, use, variables = "", "", {"input": _clean(inp)}
        if idempotency_key is not None:
            decl, use = ", $key: String", ", idempotencyKey: $key"
            variables["key"] = idempotency_key
        doc = "mutation($input: %s!%s) { %s(input: $input%s) %s }" % (
            input_type, decl, name, use, "{ %s }" % selection if selection else "")
        return self.query(doc, variables)[name]

    # --- registration -----------------------------------------------------------

    def register_dataset_version(self, dataset: str, uri: Optional[str] = None, digest: Optional[str] = None, *,
                                 upload: Optional[str] = None, file: Optional[str] = None, format: Optional[str] = None,
                                 rows: Optional[int] = None, schema: Optional[Any] = None, stats: Any = None,
                                 description: Optional[str] = None, tags: Optional[Mapping[str, Any]] = None,
                                 derived_from: Optional[Sequence[Ref]] = None) -> DatasetVersion:
        """Registers a dataset version (idempotent on digest). ``file=path`` uploads
        the file to the server's artifact storage first. ``schema`` is a list of
        {"name", "type"} or a dict name → type."""
        if file is not None:
            upload = self.upload_artifact(file).digest
        if isinstance(schema, Mapping):
            schema = [{"name": k, "type": v} for k, v in schema.items()]
        return DatasetVersion.from_dict(self._mutate("registerDatasetVersion", "RegisterDatasetVersionInput", DATASET_VERSION, {
            "dataset": dataset, "uri": uri, "digest": digest, "upload": upload, "format": format, "rows": rows,
            "schema": schema, "stats": stats, "description": description, "tags": _kvs(tags),
            "derivedFrom": [_id(x) for x in derived_from] if derived_from is not None else None}))

    def register_splits(self, dataset_version: Ref, splits: Union[Sequence[Mapping[str, Any]], Mapping[str, Any]], *,
                        strategy: Optional[str] = None, seed: Optional[int] = None) -> List[Split]:
        """Registers splits of a dataset version (idempotent on name). ``splits`` is a
        list of {"name", "digest", "rows", "fraction"} or a dict name → fraction."""
        if isinstance(splits, Mapping):
            splits = [{"name": k, "fraction": v} for k, v in splits.items()]
        return [Split.from_dict(s) for s in self._mutate("registerSplits", "RegisterSplitsInput", SPLIT, {
            "datasetVersion": _id(dataset_version), "strategy": strategy, "seed": seed,
            "splits": [_clean(dict(s)) for s in splits]})]

    def register_feature_set_version(self, feature_set: str, features: Union[Sequence[Mapping[str, Any]], Mapping[str, str]], *,
                                     transformation: Optional[str] = None, sources: Optional[Sequence[Ref]] = None,
                                     description: Optional[str] = None, tags: Optional[Mapping[str, Any]] = None) -> FeatureSetVersion:
        """Registers a feature set version. ``features`` is a list of {"name", "type",
        "description"} or a dict name → type."""
        if isinstance(features, Mapping):
            features = [{"name": k, "type": v} for k, v in features.items()]
        return FeatureSetVersion.from_dict(self._mutate("registerFeatureSetVersion", "RegisterFeatureSetVersionInput", FEATURE_SET_VERSION, {
            "featureSet": feature_set, "features": [_clean(dict(f)) for f in features], "transformation": transformation,
            "sources": [_id(x) for x in sources] if sources is not None else None, "description": description, "tags": _kvs(tags)}))

    def register_code_version(self, repository: str, commit: str, *, branch: Optional[str] = None, path: Optional[str] = None,
                              dirty: bool = False, diff_digest: Optional[str] = None) -> CodeVersion:
        """Registers a code version (idempotent on repository, commit and diff digest)."""
        return CodeVersion.from_dict(self._mutate("registerCodeVersion", "RegisterCodeVersionInput", CODE_VERSION, {
            "repository": repository, "commit": commit, "branch": branch, "path": path, "dirty": dirty,
            "diffDigest": diff_digest}))

    def register_git_code_version(self, path: Optional[str] = None) -> Optional[CodeVersion]:
        """Registers the git checkout containing path (default: the working directory); None outside git."""
        info = capture.git_info(path)
        if info is None:
            return None
        return CodeVersion.from_dict(self._mutate("registerCodeVersion", "RegisterCodeVersionInput", CODE_VERSION, info))

    def register_environment(self, language: Optional[str] = None, language_version: Optional[str] = None, *,
                             packages: Optional[Union[Mapping[str, str], Sequence[Mapping[str, str]]]] = None,
                             image_digest: Optional[str] = None, hardware: Optional[Mapping[str, Any]] = None) -> Environment:
        """Registers an environment (idempotent on contents). ``packages`` is a dict name → version or a list."""
        if isinstance(packages, Mapping):
            packages = [{"name": k, "version": v} for k, v in packages.items()]
        return Environment.from_dict(self._mutate("registerEnvironment", "RegisterEnvironmentInput", ENVIRONMENT, {
            "language": language, "languageVersion": language_version, "packages": packages,
            "imageDigest": image_digest, "hardware": _kvs(hardware)}))

    def register_python_environment(self) -> Environment:
        """Registers this interpreter: Python version, installed distributions, hardware."""
        return Environment.from_dict(self._mutate("registerEnvironment", "RegisterEnvironmentInput", ENVIRONMENT,
                                                  capture.environment_info()))

    def register_artifact(self, name: str, uri: Optional[str] = None, digest: Optional[str] = None, *,
                          type: Optional[str] = None, upload: Optional[str] = None, file: Optional[str] = None,
                          media_type: Optional[str] = None, size: Optional[int] = None, run: Optional[Ref] = None,
                          derived_from: Optional[Sequence[Ref]] = None, description: Optional[str] = None,
                          tags: Optional[Mapping[str, Any]] = None) -> Artifact:
        """Registers an artifact version (config, report, plot, …). ``file=path`` uploads it first."""
        if file is not None:
            upload = self.upload_artifact(file).digest
        return Artifact.from_dict(self._mutate("registerArtifact", "RegisterArtifactInput", ARTIFACT, {
            "name": name, "type": type, "uri": uri, "digest": digest, "upload": upload, "mediaType": media_type,
            "size": size, "run": _id(run) if run is not None else None,
            "derivedFrom": [_id(x) for x in derived_from] if derived_from is not None else None,
            "description": description, "tags": _kvs(tags)}))

    # --- runs -----------------------------------------------------------------

    def start_run(self, experiment: str, params: Optional[Mapping[str, Any]] = None, *, name: Optional[str] = None,
                  tags: Optional[Mapping[str, Any]] = None, inputs: Any = None, pipeline: Optional[str] = None,
                  parent: Optional[Ref] = None, description: Optional[str] = None, code: Optional[Ref] = None,
                  environment: Optional[Ref] = None, trigger: Optional[Mapping[str, str]] = None,
                  capture_git: bool = True, capture_environment: bool = True, code_path: Optional[str] = None,
                  idempotency_key: Optional[str] = None, flush_interval: float = 1.0, batch_size: int = 1000,
                  max_queue: int = 100000) -> ActiveRun:
        """Starts a run and returns it as an ActiveRun, best used as a context manager::

            with client.start_run(experiment="churn", params={"lr": 0.1}) as run:
                run.log_metric("loss", 0.3, step=1)

        Unless given (or capture_* is False) the git checkout of code_path (default:
        the working directory) and this Python environment are registered and
        linked, and the trigger is read from CI variables. Metrics are sent by a
        background thread in batches of batch_size every flush_interval seconds."""
        if code is None and capture_git:
            code = self.register_git_code_version(code_path)
        if environment is None and capture_environment:
            environment = self.register_python_environment()
        if trigger is None:
            trigger = capture.trigger_info()
        d = self._mutate("startRun", "StartRunInput", RUN, {
            "experiment": experiment, "pipeline": pipeline, "name": name, "params": _kvs(params), "tags": _kvs(tags),
            "trigger": dict(trigger) if trigger else None, "parent": _id(parent) if parent is not None else None,
            "code": _id(code) if code is not None else None,
            "environment": _id(environment) if environment is not None else None,
            "inputs": run_inputs(inputs) if inputs is not None else None, "description": description},
            idempotency_key)
        return ActiveRun(self, Run.from_dict(d), flush_interval=flush_interval, batch_size=batch_size, max_queue=max_queue)

    def log_params(self, run: Ref, params: Mapping[str, Any]) -> Run:
        """Logs params of a run (upsert)."""
        return Run.from_dict(self._mutate("logParams", "LogParamsInput", RUN_SUMMARY, {"run": _id(run), "params": _kvs(params)}))

    def set_tags(self, run: Ref, tags: Mapping[str, Any]) -> Run:
        """Sets tags of a run (upsert)."""
        return Run.from_dict(self._mutate("setRunTags", "SetRunTagsInput", RUN_SUMMARY, {"run": _id(run), "tags": _kvs(tags)}))

    def log_metrics(self, run: Ref, points: Union[Mapping[str, float], Iterable[Any]], step: Optional[int] = None) -> int:
        """Logs metric points and returns how many the server stored. ``points`` is a
        dict key → value (all at ``step``), or a list of {"key", "value", "step",
        "timestamp"} dicts, MetricPoints or (key, value[, step[, timestamp]]) tuples.
        Sent as the MetricPoints scalar, at most 10,000 per call."""
        if isinstance(points, Mapping):
            pts = [_point({"key": k, "value": v, "step": step}) for k, v in points.items()]
        else:
            pts = [_point(p) for p in points]
        n = 0
        for i in range(0, len(pts), METRICS_PER_CALL):
            n += self._mutate("logMetrics", "LogMetricsInput", "", {"run": _id(run), "points": pts[i:i + METRICS_PER_CALL]})
        return n

    def add_inputs(self, run: Ref, inputs: Any) -> Run:
        """Adds inputs to a run: a dict role → node(s), a list of nodes or (node, role) pairs."""
        return Run.from_dict(self._mutate("addRunInputs", "AddRunInputsInput", RUN, {"run": _id(run), "inputs": run_inputs(inputs)}))

    def add_outputs(self, run: Ref, outputs: Union[Ref, Sequence[Ref]]) -> Run:
        """Records nodes a run generated."""
        if isinstance(outputs, str) or hasattr(outputs, "id"):
            outputs = [outputs]
        return Run.from_dict(self._mutate("addRunOutputs", "AddRunOutputsInput", RUN, {"run": _id(run), "outputs": [_id(o) for o in outputs]}))

    def finish_run(self, run: Ref, status: str = "FINISHED", *, ended_at: Any = None,
                   compute: Optional[Mapping[str, Any]] = None) -> Run:
        """Finishes a run: FINISHED, FAILED or KILLED."""
        return Run.from_dict(self._mutate("finishRun", "FinishRunInput", RUN, {
            "run": _id(run), "status": status, "endedAt": format_time(ended_at), "compute": _kvs(compute)}))

    def run(self, run_id: Ref) -> Run:
        """A run by ID, with inputs and outputs. NotFound if absent."""
        return Run.from_dict(self.query("query($id: ID!) { run(id: $id) { %s } }" % RUN, {"id": _id(run_id)})["run"])

    def runs(self, filter: Optional[str] = None, *, order_by: Optional[Union[str, Sequence[str]]] = None,
             experiment: Optional[str] = None, first: int = 50, after: Optional[str] = None) -> Page[Run]:
        """One page of runs matching a filter in MLflow's search syntax (with OR and
        parentheses), e.g. ``metrics.auc > 0.9 and params.model = 'xgb'``. Pass
        ``page.end_cursor`` as ``after`` for the next page, or use iter_runs."""
        if isinstance(order_by, str):
            order_by = [order_by]
        d = self.query(
            "query($filter: String, $experiment: String, $orderBy: [String!], $first: Int, $after: String) {"
            " runs(filter: $filter, experiment: $experiment, orderBy: $orderBy, first: $first, after: $after) {"
            " nodes { %s } %s } }" % (RUN_SUMMARY, PAGE),
            _clean({"filter": filter, "experiment": experiment, "orderBy": order_by, "first": first, "after": after}))["runs"]
        return Page([Run.from_dict(r) for r in d["nodes"]], d["pageInfo"]["endCursor"], d["pageInfo"]["hasNextPage"])

    def iter_runs(self, filter: Optional[str] = None, *, order_by: Optional[Union[str, Sequence[str]]] = None,
                  experiment: Optional[str] = None, page_size: int = 200) -> Iterator[Run]:
        """Every run matching a filter, fetched page by page."""
        after = None
        while True:
            page = self.runs(filter, order_by=order_by, experiment=experiment, first=page_size, after=after)
            yield from page
            if not page.has_next_page or not page.end_cursor:
                return
            after = page.end_cursor

    def metric(self, run: Ref, key: str) -> Optional[MetricSummary]:
        """The summary (last, min, max, count) of one metric of a run; None if never logged."""
        d = self.query("query($id: ID!, $key: String!) { run(id: $id) { metric(key: $key) { key last lastStep min max count } } }",
                       {"id": _id(run), "key": key})["run"]
        return MetricSummary.from_dict(d["metric"])

    def metric_history(self, run: Ref, key: str, *, page_size: int = 1000) -> MetricHistory:
        """Every point of one metric of a run, ordered by step, fetched page by page.

        The server pages by step, so more than page_size points at one single
        step cannot all be fetched; the history then ends at that step (a warning says so)."""
        out = MetricHistory()
        after: Optional[int] = None
        doc = ("query($id: ID!, $key: String!, $after: Int64, $first: Int) { run(id: $id) {"
               " metricHistory(key: $key, afterStep: $after, first: $first) { key value step timestamp } } }")
        while True:
            pts = [MetricPoint.from_dict(p) for p in self.query(
                doc, _clean({"id": _id(run), "key": key, "after": after, "first": page_size}))["run"]["metricHistory"]]
            if len(pts) < page_size:
                out.extend(pts)
                return out
            last = pts[-1].step
            keep = [p for p in pts if p.step < last]
            if not keep:
                import warnings
                warnings.warn("metric %r has more than %d points at step %d; the history stops there" % (key, page_size, last))
                out.extend(pts)
                return out
            out.extend(keep)
            after = last - 1  # refetch the last step whole: a page may end in the middle of it

    def compare_runs(self, runs: Sequence[Ref]) -> RunComparison:
        """Runs side by side: params, metrics (with the best run), inputs and code."""
        d = self.query(
            "query($ids: [ID!]!) { compareRuns(ids: $ids) { runs { %s } params { key values differs }"
            " metrics { key lastValues bestIndex bestRunId higherIsBetter differs }"
            " inputs { role values differs } code { values { %s } differs } } }" % (RUN_SUMMARY, CODE_VERSION),
            {"ids": [_id(r) for r in runs]})["compareRuns"]
        return RunComparison.from_dict(d)

    # --- models -----------------------------------------------------------------

    def upload_artifact(self, path: str, *, digest: Optional[str] = None) -> ArtifactLocation:
        """Streams a file to the server's artifact storage (PUT /artifacts/) and returns
        its location; location.digest can be passed as ``upload`` to register calls.
        The sha256 is computed first and sent as X-Pedigree-Digest, so the server
        refuses the upload if the bytes change on the way."""
        if digest is None:
            digest, size = sha256_file(path)
        else:
            size = os.path.getsize(path)
        with open(path, "rb") as f:
            req = urllib.request.Request(self.url + "/artifacts/", data=f, method="PUT", headers=self._headers({
                "Content-Type": "application/octet-stream", "Content-Length": str(size), "X-Pedigree-Digest": digest}))
            resp = self._open(req, "PUT /artifacts/")
            with resp:
                status = resp.status if hasattr(resp, "status") else resp.code
                body = resp.read()
        if status not in (200, 201):
            raise self._http_error(status, body, "PUT /artifacts/")
        d = json.loads(body.decode("utf-8"))
        hexd = d["digest"].split(":", 1)[1]
        return ArtifactLocation(uri=d["uri"], digest=d["digest"], size=d["size"], verified=True,
                                download_url="/artifacts/sha256/" + hexd, raw=d)

    def download_artifact(self, digest: Union[str, ArtifactLocation], dest: str) -> str:
        """Downloads a stored blob (by digest sha256:… or location) to dest, checking
        its sha256; returns dest. A mismatch removes the file and raises PedigreeError."""
        if isinstance(digest, ArtifactLocation):
            digest = digest.digest or ""
        hexd = digest.split(":", 1)[-1]
        req = urllib.request.Request(self.url + "/artifacts/sha256/" + hexd, method="GET", headers=self._headers())
        resp = self._open(req, "GET /artifacts/")
        h = hashlib.sha256()
        with resp:
            status = resp.status if hasattr(resp, "status") else resp.code
            if status != 200:
                raise self._http_error(status, resp.read(), "GET /artifacts/sha256/" + hexd)
            tmp = dest + ".part"
            with open(tmp, "wb") as out:
                for chunk in iter(lambda: resp.read(_CHUNK), b""):
                    h.update(chunk)
                    out.write(chunk)
        if h.hexdigest() != hexd:
            os.remove(tmp)
            raise error_for("download of sha256:%s hashed to sha256:%s" % (hexd, h.hexdigest()), "INTERNAL")
        shutil.move(tmp, dest)
        return dest

    def register_model_version(self, model: str, run: Ref, artifact_uri: Optional[str] = None, *,
                               file: Optional[str] = None, upload: Optional[str] = None,
                               artifact_digest: Optional[str] = None, framework: Optional[str] = None,
                               signature: Any = None, description: Optional[str] = None,
                               tags: Optional[Mapping[str, Any]] = None,
                               idempotency_key: Optional[str] = None) -> ModelVersion:
        """Registers a model version generated by a run. Give an external artifact_uri
        (s3://, gs://, azblob://), or file=path to upload the file to the server first."""
        if file is not None:
            upload = self.upload_artifact(file).digest
        return ModelVersion.from_dict(self._mutate("registerModelVersion", "RegisterModelVersionInput", MODEL_VERSION, {
            "model": model, "run": _id(run), "artifactUri": artifact_uri, "artifactDigest": artifact_digest,
            "upload": upload, "framework": framework, "signature": signature, "description": description,
            "tags": _kvs(tags)}, idempotency_key))

    def transition_stage(self, model: str, version: int, stage: str, *, expected_stage: Optional[str] = None,
                         archive_existing: Optional[bool] = None, reason: Optional[str] = None) -> ModelVersion:
        """Moves a version to a stage. With expected_stage it is a compare-and-swap:
        Conflict unless the version is in that stage now."""
        return ModelVersion.from_dict(self._mutate("transitionModelVersionStage", "TransitionModelVersionStageInput", MODEL_VERSION, {
            "model": model, "version": version, "stage": stage, "expectedStage": expected_stage,
            "archiveExisting": archive_existing, "reason": reason}))

    def rollback(self, model: str, *, reason: Optional[str] = None) -> ModelVersion:
        """Rolls PRODUCTION back to the previous Production version; returns it."""
        return ModelVersion.from_dict(self._mutate("rollbackModel", "RollbackModelInput", MODEL_VERSION, {"model": model, "reason": reason}))

    def set_alias(self, model: str, alias: str, version: int) -> ModelVersion:
        """Points an alias (e.g. champion) at a version."""
        return ModelVersion.from_dict(self._mutate("setModelAlias", "SetModelAliasInput", MODEL_VERSION,
                                                   {"model": model, "alias": alias, "version": version}))

    def delete_alias(self, model: str, alias: str) -> Model:
        """Removes an alias."""
        return Model.from_dict(self._mutate("deleteModelAlias", "DeleteModelAliasInput", MODEL, {"model": model, "alias": alias}))

    def record_deployment(self, model: str, version: int, environment: str, status: str, *,
                          endpoint: Optional[str] = None, external_id: Optional[str] = None,
                          url: Optional[str] = None, message: Optional[str] = None) -> Deployment:
        """Records the state (PENDING, SUCCEEDED, FAILED, DECOMMISSIONED) of a deployment."""
        return Deployment.from_dict(self._mutate("recordDeployment", "RecordDeploymentInput", DEPLOYMENT, {
            "model": model, "version": version, "environment": environment, "status": status, "endpoint": endpoint,
            "externalId": external_id, "url": url, "message": message}))

    def update_model(self, model: str, *, description: Optional[str] = None, auto_rollback: Optional[bool] = None) -> Model:
        """Changes a model's description or autoRollback; omitted fields stay."""
        return Model.from_dict(self._mutate("updateModel", "UpdateModelInput", MODEL, {
            "model": model, "description": description, "autoRollback": auto_rollback}))

    def model(self, name: str) -> Model:
        """A model with its aliases and latest version per stage. NotFound if absent."""
        return Model.from_dict(self.query("query($name: String!) { model(name: $name) { %s } }" % MODEL, {"name": name})["model"])

    def models(self, *, first: int = 50, after: Optional[str] = None) -> Page[Model]:
        """One page of models, oldest first."""
        d = self.query("query($first: Int, $after: String) { models(first: $first, after: $after) { nodes { %s } %s } }"
                       % (MODEL, PAGE), _clean({"first": first, "after": after}))["models"]
        return Page([Model.from_dict(m) for m in d["nodes"]], d["pageInfo"]["endCursor"], d["pageInfo"]["hasNextPage"])

    def model_versions(self, model: str, *, first: int = 50, after: Optional[str] = None) -> Page[ModelVersion]:
        """One page of a model's versions, newest first."""
        d = self.query("query($name: String!, $first: Int, $after: String) { model(name: $name) {"
                       " versions(first: $first, after: $after) { nodes { %s } %s } } }" % (MODEL_VERSION, PAGE),
                       _clean({"name": model, "first": first, "after": after}))["model"]["versions"]
        return Page([ModelVersion.from_dict(m) for m in d["nodes"]], d["pageInfo"]["endCursor"], d["pageInfo"]["hasNextPage"])

    def model_version(self, model: str, version: Optional[int] = None, *, stage: Optional[str] = None,
                      alias: Optional[str] = None) -> ModelVersion:
        """One version, by exactly one of version, stage (the latest in it) or alias. NotFound if none matches."""
        return ModelVersion.from_dict(self.query(
            "query($model: String!, $version: Int, $stage: Stage, $alias: String) {"
            " modelVersion(model: $model, version: $version, stage: $stage, alias: $alias) { %s } }" % MODEL_VERSION,
            _clean({"model": model, "version": version, "stage": stage, "alias": alias}))["modelVersion"])

    def diff_model_versions(self, model: str, from_version: int, to_version: int) -> ModelVersionDiff:
        """What changed between two versions: data, features, code, packages, params, metrics."""
        change = "kind before { %s } after { %s }" % (NODE, NODE)
        return ModelVersionDiff.from_dict(self.query(
            "query($model: String!, $from: Int!, $to: Int!) { diffModelVersions(model: $model, from: $from, to: $to) {"
            " from { %s } to { %s } data { %s } features { %s } code { %s }"
            " environment { name kind before after } params { key kind before after } metrics { key before after delta } } }"
            % (MODEL_VERSION_SHORT, MODEL_VERSION_SHORT, change, change, change),
            {"model": model, "from": from_version, "to": to_version})["diffModelVersions"])

    # --- lineage, impact, events --------------------------------------------------

    def lineage(self, of: Ref, direction: str = "UPSTREAM", depth: Optional[int] = None, *,
                kinds: Optional[Sequence[str]] = None, limit: Optional[int] = None, as_of: Any = None) -> LineageGraph:
        """The provenance subgraph around a node (UPSTREAM, DOWNSTREAM or BOTH)."""
        return LineageGraph.from_dict(self.query(
            "query($of: ID!, $direction: Direction, $depth: Int, $kinds: [NodeKind!], $limit: Int, $asOf: Time) {"
            " lineage(of: $of, direction: $direction, depth: $depth, kinds: $kinds, limit: $limit, asOf: $asOf) {"
            " nodes { depth node { %s } } edges { from to type role createdAt } truncated } }" % NODE,
            _clean({"of": _id(of), "direction": direction.upper(), "depth": depth, "kinds": kinds, "limit": limit,
                    "asOf": format_time(as_of)}))["lineage"])

    def impact(self, of: Ref) -> Impact:
        """Everything downstream of a node that matters: runs, derived data, model versions by stage, deployments."""
        return Impact.from_dict(self.query(
            "query($of: ID!) { impact(of: $of) { of { %s } runs { %s } data { %s }"
            " modelVersions { stage versions { %s } } deployments { %s } total truncated } }"
            % (NODE, NODE, NODE, MODEL_VERSION_SHORT, DEPLOYMENT), {"of": _id(of)})["impact"])

    def events(self, model: Optional[str] = None, *, after_seq: int = 0, types: Optional[Sequence[str]] = None,
               first: int = 50) -> List[ModelEvent]:
        """Committed registry events in sequence order."""
        d = self.query("query($model: String, $after: Int64, $types: [EventType!], $first: Int) {"
                       " events(model: $model, afterSeq: $after, types: $types, first: $first) {"
                       " id seq modelSeq type model version payload createdAt } }",
                       _clean({"model": model, "after": after_seq, "types": types, "first": first}))["events"]
        return [ModelEvent.from_dict(e) for e in d]

    # --- data -----------------------------------------------------------------

    def dataset_version(self, dataset: str, version: int) -> DatasetVersion:
        """A dataset version. NotFound if absent."""
        return DatasetVersion.from_dict(self.query(
            "query($d: String!, $v: Int!) { datasetVersion(dataset: $d, version: $v) { %s } }" % DATASET_VERSION,
            {"d": dataset, "v": version})["datasetVersion"])

    def node(self, node_id: str) -> Optional[Dict[str, Any]]:
        """Any node by ID as a dict (id, kind, label, createdAt, description); None if there is none."""
        return self.query("query($id: ID!) { node(id: $id) { %s createdAt description } }" % NODE, {"id": node_id})["node"]
