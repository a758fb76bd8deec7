"""A forecaster made of one trained model per segment group (forecast/segment_groups.py).

Each member is an ordinary TrainedModel over its group's segments, trained on that
group alone: on a Spark executor, or one group after another in process. In the
registry the members sit in sub-folders and model.json's `artifacts` lists them,
so the registry, promotion, rollback and serving treat it as any other version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from trafficcast.forecast.bundle import TrainedModel

GROUPED_KIND = "grouped"


@dataclass
class GroupedModel:
    steps: tuple[int, ...]
    names: list[str]  # one per member, e.g. "group-000"
    members: list[TrainedModel]
    metadata: dict[str, Any] = field(default_factory=dict)
    kind: str = GROUPED_KIND

    @property
    def segment_ids(self) -> pa.Array:
        return pa.concat_arrays([m.segment_ids for m in self.members])

    def save(self, folder: Path) -> dict[str, Any]:
        """Each member into a sub-folder; returns the manifest to keep in the metadata."""
        groups = []
        for name, member in zip(self.names, self.members, strict=True):
            (folder / name).mkdir()
            groups.append(
                {"name": name, "kind": member.kind, "artifacts": member.save(folder / name)}
            )
        return {"steps": list(self.steps), "groups": groups}

    @classmethod
    def load(cls, folder: Path, manifest: dict[str, Any]) -> GroupedModel:
        names: list[str] = []
        members: list[TrainedModel] = []
        for group in manifest["groups"]:
            name = str(group["name"])
            if "/" in name or name.startswith("."):
                raise ValueError(f"bad group folder name {name!r} in the model's manifest")
            names.append(name)
            members.append(TrainedModel.load(folder / name, group["kind"], group["artifacts"]))
        return cls(tuple(manifest["steps"]), names, members)


def load_registered(folder: Path) -> TrainedModel | GroupedModel:
    """The model a registry version folder holds, grouped or not."""
    meta = json.loads((folder / "model.json").read_text())
    model: TrainedModel | GroupedModel
    if "groups" in meta["artifacts"]:
        model = GroupedModel.load(folder, meta["artifacts"])
    else:
        model = TrainedModel.load(folder, meta["kind"], meta["artifacts"])
    model.metadata = meta
    return model
