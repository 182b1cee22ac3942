"""Pedigree's Python client: record ML lineage from notebooks and scripts.

    import pedigree
    client = pedigree.Client("http://127.0.0.1:8080")
    with client.start_run(experiment="churn", params={"lr": 0.1}) as run:
        run.log_metric("loss", 0.31, step=1)

Standard library only; pandas is used by to_dataframe() when installed.
"""

from .client import DEFAULT_URL, Client, run_inputs, sha256_file
from .errors import (
    BadUserInput, Conflict, Forbidden, Internal, InvalidQuery, NotFound, PedigreeError, PedigreeTimeout,
    PedigreeUnavailable, Unauthenticated, Unavailable,
)
from .run import ActiveRun
from .types import (
    Artifact, ArtifactLocation, CodeVersion, DatasetVersion, Deployment, Environment, FeatureSetVersion, Impact,
    LineageEdge, LineageGraph, LineageNode, MetricHistory, MetricPoint, MetricSummary, Model, ModelEvent,
    ModelVersion, ModelVersionDiff, NodeRef, Page, Run, RunComparison, RunInputRef, Split, StageTransition, Trigger,
)

__version__ = "0.1.0"

__all__ = [
    "Client", "ActiveRun", "DEFAULT_URL", "run_inputs", "sha256_file",
    "PedigreeError", "BadUserInput", "InvalidQuery", "NotFound", "Conflict", "Unauthenticated", "Forbidden",
    "PedigreeUnavailable", "Unavailable", "Internal", "PedigreeTimeout",
    "Artifact", "ArtifactLocation", "CodeVersion", "DatasetVersion", "Deployment", "Environment",
    "FeatureSetVersion", "Impact", "LineageEdge", "LineageGraph", "LineageNode", "MetricHistory", "MetricPoint",
    "MetricSummary", "Model", "ModelEvent", "ModelVersion", "ModelVersionDiff", "NodeRef", "Page", "Run",
    "RunComparison", "RunInputRef", "Split", "StageTransition", "Trigger",
]
