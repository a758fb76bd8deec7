"""`trafficcast train` and `trafficcast evaluate`: the forecasting engine from the command line."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    Progress,
    TaskID,
)
from rich.table import Table

from trafficcast.cli.common import DataDir, _fail, _progress, _settings, app, console
from trafficcast.config import Settings
from trafficcast.sources.dataset import DatasetError
from trafficcast.store.base import StoreUnavailable

if TYPE_CHECKING:
    # Only for annotations: importing them for real loads LightGBM and SciPy, and
    # `trafficcast --help` should not wait.
    from trafficcast.forecast.panel import Panel
    from trafficcast.forecast.protocols import ResultRow
    from trafficcast.forecast.registry import ModelRegistry
    from trafficcast.forecast.training import QuantityResult, Split, StageProgress, TrainConfig

KNOWN_DATASETS = ("los-loop", "metr-la-29", "pems08-partial")  # the keys of protocols.PROTOCOLS
SHARED_DATA = Path("../shared/data")
TABLE_HORIZONS = (15, 30, 45, 60)
DASH = "\N{EN DASH}"  # a metric that is absent
GROUPED_LABEL = "per group"
# Wide enough for every column unwrapped when the output goes to a file or pipe, where rich
# would otherwise assume 80 columns.
PIPE_WIDTH = 200


@contextmanager
def clean_errors() -> Iterator[None]:
    """Expected failures (bad data, too little of it, registry trouble) as one line, exit 1."""
    from trafficcast.forecast.panel import PanelError
    from trafficcast.forecast.registry import RegistryError
    from trafficcast.forecast.segment_groups import GroupingError
    from trafficcast.forecast.training import TrainingError

    try:
        yield
    except (
        PanelError,
        TrainingError,
        GroupingError,
        DatasetError,
        RegistryError,
        StoreUnavailable,
    ) as exc:
        _fail(str(exc))
    except ValidationError as exc:
        _fail(f"invalid settings: {exc}")
    except OSError as exc:
        _fail(str(exc))


def _stdout() -> Console:
    out = Console(highlight=False)
    if not out.is_terminal:
        out.width = max(out.width, PIPE_WIDTH)
    return out


def _stage_progress(progress: Progress, prefix: str = "") -> StageProgress:
    """training's (stage, done, total) callback as one bar per stage."""
    tasks: dict[str, TaskID] = {}

    def update(stage: str, done: int, total: int) -> None:
        label = prefix + stage
        if label not in tasks:
            tasks[label] = progress.add_task(label, total=total)
        progress.update(tasks[label], completed=done, total=total)

    return update


def _num(value: Any, digits: int = 2) -> str:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value == value
    return f"{value:.{digits}f}" if ok and abs(value) != float("inf") else DASH


def _maes(scores: Any) -> str:
    """The MAE at 15 / 30 / 45 / 60 minutes of a {"mae": {"15": ...}} metadata block."""
    mae = scores.get("mae") if isinstance(scores, dict) else None
    mae = mae if isinstance(mae, dict) else {}
    return " / ".join(_num(mae.get(str(h))) for h in TABLE_HORIZONS)


def _store_panel(settings: Settings, days: float | None) -> tuple[Panel, str]:
    from trafficcast.forecast.panel import PanelError
    from trafficcast.forecast.sources import panel_from_store
    from trafficcast.store.duckdb_store import DuckDBStore

    path = Path(settings.database_path)
    if not path.is_file():
        raise PanelError(
            f"no store at {path}: load data first (`trafficcast replay PATH`), "
            "or train from a folder with --dataset"
        )
    store = DuckDBStore(path)
    try:
        store.init_schema()
        panel = panel_from_store(store, settings.timezone, days)
    except PanelError as exc:
        raise PanelError(f"{path}: {exc}") from exc
    finally:
        store.close()
    return panel, f"store:{path}"


def _dataset_panel(
    folder: Path, settings: Settings, days: float | None, links: Path | None
) -> tuple[Panel, str]:
    from trafficcast.forecast.panel import STEP_MINUTES
    from trafficcast.forecast.sources import panel_from_dataset

    panel = panel_from_dataset(folder, settings.timezone, links)
    if days is not None:
        keep = max(int(days * 24 * 60 / STEP_MINUTES), 1)
        panel = panel.rows(max(panel.steps - keep, 0), panel.steps)
    return panel, f"dataset:{folder.resolve()}"


def _training_table(
    results: dict[str, QuantityResult], test: dict[str, Any] | None, version: str
) -> Table:
    from trafficcast.forecast.registration import by_horizon
    from trafficcast.forecast.training import BASELINES

    table = Table(title=f"trained {version}", title_justify="left")
    table.add_column("quantity")
    table.add_column("model")
    table.add_column("val MAE 15/30/45/60 min", justify="right")
    table.add_column("test MAE 15/30/45/60 min", justify="right")
    for quantity, result in results.items():
        chosen = result.chosen.model.kind
        held_out = (test or {}).get(quantity, {})
        kinds = [c.kind for c in result.candidates]
        kinds += [k for k in BASELINES if k not in kinds]
        for kind in kinds:
            candidate = next((c for c in result.candidates if c.kind == kind), None)
            val = {"mae": by_horizon(candidate.validation_mae)} if candidate else None
            scored = held_out if kind == chosen else held_out.get("baselines", {}).get(kind)
            table.add_row(
                quantity,
                f"{kind} ✓" if kind == chosen else kind,
                _maes(val),
                _maes(scored) if test is not None else DASH,
            )
        table.add_section()
    return table


@app.command()
def train(
    dataset: Annotated[
        Path | None,
        typer.Option(help="Train on a recorded dataset folder instead of the store"),
    ] = None,
    from_store: Annotated[
        bool,
        typer.Option(
            "--from-store", help="Train on the store's 5-minute windows (the default source)"
        ),
    ] = False,
    days: Annotated[float | None, typer.Option(help="Use only the last N days of the data")] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same model")] = 0,
    test_fraction: Annotated[
        float,
        typer.Option(min=0.0, max=0.9, help="Last share of the steps held out as test (0 = none)"),
    ] = 0.1,
    validation_fraction: Annotated[
        float,
        typer.Option(
            min=0.01, max=0.9, help="Share of the steps before test that choose and calibrate"
        ),
    ] = 0.1,
    promote: Annotated[
        bool | None,
        typer.Option(
            "--promote/--no-promote",
            help="Make it the active model (default: only when none is promoted yet)",
            show_default=False,
        ),
    ] = None,
    models: Annotated[
        str, typer.Option(help="Candidate models, comma-separated; the best on validation wins")
    ] = "gbm,persistence,profile",
    links: Annotated[
        Path | None,
        typer.Option(help="Road graph (edges.csv) for a --dataset published without its own"),
    ] = None,
    groups: Annotated[
        int,
        typer.Option(
            min=1,
            help="Train one model per segment group (connected stretches of road), as "
            "`trafficcast spark train` does in parallel; 1 = one model for the network",
        ),
    ] = 1,
    data_dir: DataDir = None,
) -> None:
    """Train a forecaster (speed, and volume where measured) and register it."""
    if links is not None and dataset is None:
        raise typer.BadParameter("only with --dataset", param_hint="--links")
    if dataset is not None and from_store:
        raise typer.BadParameter("give --dataset or --from-store, not both")
    if days is not None and not days > 0:
        raise typer.BadParameter("must be positive", param_hint="--days")
    if test_fraction + validation_fraction >= 0.9:
        raise typer.BadParameter(
            "test and validation fractions must leave at least 10 % of the data to train on",
            param_hint="--test-fraction / --validation-fraction",
        )
    candidates = candidate_models(models)
    with clean_errors():
        _train(
            dataset,
            links,
            days,
            seed,
            test_fraction,
            validation_fraction,
            promote,
            candidates,
            data_dir,
            groups,
        )


def candidate_models(text: str) -> tuple[str, ...]:
    """--models as candidate kinds, each once, in the order given."""
    candidates = tuple(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    unknown = sorted(set(candidates) - {"gbm", "persistence", "profile"})
    if unknown or not candidates:
        raise typer.BadParameter(
            f"unknown model(s) {', '.join(unknown) or '(none given)'}; "
            "known: gbm, persistence, profile",
            param_hint="--models",
        )
    return candidates


def _train(
    dataset: Path | None,
    links: Path | None,
    days: float | None,
    seed: int,
    test_fraction: float,
    validation_fraction: float,
    promote: bool | None,
    candidates: tuple[str, ...],
    data_dir: Path | None,
    groups: int = 1,
) -> None:
    from trafficcast.forecast import training
    from trafficcast.forecast.models.gbm import GbmParams
    from trafficcast.forecast.registration import held_out_scores, register_trained
    from trafficcast.forecast.registry import ModelRegistry

    settings = _settings(None, None, data_dir)
    if dataset is not None:
        panel, source = _dataset_panel(dataset, settings, days, links)
    else:
        panel, source = _store_panel(settings, days)
    config = training.TrainConfig(candidates=candidates, gbm=GbmParams(seed=seed))
    split = training.Split.fractions(panel.steps, test_fraction, validation_fraction)
    has_test = split.valid_end < panel.steps
    training.check_test_slice(split, panel.steps, config)
    console.print(
        f"training on {source}: {panel.steps:,} steps of 5 minutes x {panel.size} segments "
        f"(train {split.train_end:,}, validation {split.valid_end - split.train_end:,}, "
        f"test {panel.steps - split.valid_end:,})",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    registry = ModelRegistry(settings.registry_path)
    promote_it = registry.active() is None if promote is None else promote
    if groups > 1:
        _train_grouped(panel, source, groups, config, split, seed, registry, promote_it)
        return
    began = time.perf_counter()
    with _progress() as progress:
        model, results = training.train(panel, config, split, _stage_progress(progress))
    train_seconds = time.perf_counter() - began
    test = held_out_scores(results, split, config.steps, panel.steps, config) if has_test else None
    record = register_trained(
        registry,
        model,
        results,
        source=source,
        panel=panel,
        split=split,
        config=config,
        seed=seed,
        train_seconds=train_seconds,
        test=test,
        promote=promote_it,
    )
    out = _stdout()
    out.print(_training_table(results, test, record.version))
    state = "promoted" if record.promoted else "not promoted"
    out.print(
        f"registered {record.version} ({state}) in {registry.root}, "
        f"trained in {train_seconds:.1f} s",
        markup=False,
    )


def _train_grouped(
    panel: Panel,
    source: str,
    groups: int,
    config: TrainConfig,
    split: Split,
    seed: int,
    registry: ModelRegistry,
    promote: bool,
) -> None:
    from trafficcast.forecast.grouped_registration import register_grouped
    from trafficcast.forecast.grouped_training import train_grouped
    from trafficcast.forecast.segment_groups import plan_groups

    plan = plan_groups(panel.graph, groups)
    console.print(
        f"{groups} segment groups of {', '.join(map(str, plan.sizes()))} segments "
        f"({plan.cut_links} of {len(panel.graph.src)} links cut)",
        highlight=False,
    )
    began = time.perf_counter()
    with _progress() as progress:
        stages = _stage_progress(progress)

        def report(group: str, stage: str, done: int, total: int) -> None:
            stages(f"{group} {stage}", done, total)

        model, summaries = train_grouped(panel, plan, config, split, report)
    train_seconds = time.perf_counter() - began
    record = register_grouped(
        registry,
        model,
        summaries,
        source=source,
        start_ms=panel.start_ms,
        split=split,
        seed=seed,
        train_seconds=train_seconds,
        cut_links=plan.cut_links,
        promote=promote,
    )
    report_grouped(record.version, record.metadata, record.promoted, registry.root, train_seconds)


def grouped_table(version: str, metadata: dict[str, Any]) -> Table:
    """A grouped model's record: each group's choice and errors, then the network's."""
    table = Table(title=f"trained {version}", title_justify="left")
    for name in ("group", "segments", "quantity", "model"):
        table.add_column(name)
    table.add_column("val MAE 15/30/45/60 min", justify="right")
    table.add_column("test MAE 15/30/45/60 min", justify="right")
    for group in metadata.get("groups", []):
        for quantity, kind in group.get("chosen", {}).items():
            table.add_row(
                group["name"],
                str(group["segments"]),
                quantity,
                kind,
                _maes(group["validation"].get(quantity)),
                _maes(group.get("test", {}).get(quantity)) if "test" in group else DASH,
            )
    table.add_section()
    test = metadata.get("test")
    for quantity in metadata.get("quantities", []):
        table.add_row(
            "network",
            str(metadata["training_window"]["segments"]),
            quantity,
            GROUPED_LABEL,
            _maes(metadata["validation"].get(quantity)),
            _maes(test.get(quantity)) if test else DASH,
        )
    return table


def report_grouped(
    version: str, metadata: dict[str, Any], promoted: bool, root: Path, seconds: float
) -> None:
    out = _stdout()
    out.print(grouped_table(version, metadata))
    state = "promoted" if promoted else "not promoted"
    out.print(f"registered {version} ({state}) in {root}, trained in {seconds:.1f} s", markup=False)


def _dataset_names(data: Path, names: Sequence[str] | None) -> list[str]:
    wanted = [n.strip() for item in names or () for n in item.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in KNOWN_DATASETS]
    if unknown:
        _fail(
            f"unknown dataset {', '.join(unknown)}: the known ones are {', '.join(KNOWN_DATASETS)}"
        )
    if wanted:
        for name in wanted:
            if not (data / name).is_dir():
                _fail(f"dataset {name}: no folder {data / name}")
        return list(dict.fromkeys(wanted))
    present = [n for n in KNOWN_DATASETS if (data / n).is_dir()]
    if not present:
        _fail(f"none of the known datasets ({', '.join(KNOWN_DATASETS)}) is in {data}")
    return present


def _evaluation_table(title: str, rows: list[ResultRow], tgcn: bool) -> Table:
    table = Table(title=title, title_justify="left")
    for name in ("model", "quantity", "horizon (min)", "MAE", "RMSE", "MAPE %"):
        table.add_column(name, justify="left" if name in ("model", "quantity") else "right")
    if tgcn:
        table.add_column("Accuracy", justify="right")
    for name in ("80 % coverage", "band width", "train s", "score s"):
        table.add_column(name, justify="right")
    quantities = list(dict.fromkeys(r.quantity for r in rows))
    models = list(dict.fromkeys(r.model for r in rows))
    ordered = sorted(
        rows, key=lambda r: (quantities.index(r.quantity), r.horizon_min, models.index(r.model))
    )
    previous: tuple[str, int] | None = None
    for r in ordered:
        if previous is not None and previous != (r.quantity, r.horizon_min):
            table.add_section()
        previous = (r.quantity, r.horizon_min)
        cells = [
            f"{r.model} ✓" if r.chosen else r.model,
            r.quantity,
            str(r.horizon_min),
            _num(r.mae),
            _num(r.rmse),
            _num(r.mape),
        ]
        if tgcn:
            cells.append(_num(r.accuracy, 4))
        cells += [
            _num(r.coverage * 100, 1),
            _num(r.interval_width),
            _num(r.train_seconds, 1),
            _num(r.score_seconds, 2),
        ]
        table.add_row(*cells)
    return table


def _json_rows(rows: list[ResultRow]) -> bytes:
    from dataclasses import asdict

    # orjson writes NaN as null, which is what "not measured" should read as in JSON.
    return orjson.dumps([asdict(r) for r in rows], option=orjson.OPT_INDENT_2)


@app.command()
def evaluate(
    data: Annotated[Path, typer.Option(help="Folder holding the dataset folders")] = SHARED_DATA,
    dataset: Annotated[
        list[str] | None,
        typer.Option(
            help="Dataset to evaluate (los-loop, metr-la-29, pems08-partial); repeat for several "
            "(default: every one present)"
        ),
    ] = None,
    max_steps: Annotated[
        int | None,
        typer.Option(min=1, help="Keep only the first N steps of each dataset (quick runs)"),
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed of the learned model")] = 0,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Also write every result row to this JSON file")
    ] = None,
) -> None:
    """Score our models and the baselines on the published protocols of the research sets."""
    with clean_errors():
        _evaluate(data, dataset, max_steps, seed, json_path)


def _evaluate(
    data: Path,
    names: list[str] | None,
    max_steps: int | None,
    seed: int,
    json_path: Path | None,
) -> None:
    from trafficcast.forecast import protocols
    from trafficcast.forecast.models.gbm import GbmParams
    from trafficcast.forecast.sources import panel_from_dataset
    from trafficcast.forecast.training import TrainConfig

    settings = Settings()
    chosen = _dataset_names(data, names)
    out = _stdout()
    every: list[ResultRow] = []
    for name in chosen:
        graph_of = protocols.GRAPH_OF.get(name)
        links = None if graph_of is None else data / graph_of / "edges.csv"
        panel = panel_from_dataset(data / name, settings.timezone, links)
        if max_steps is not None and max_steps < panel.steps:
            panel = panel.rows(0, max_steps)
        protocol = protocols.PROTOCOLS[name]
        config = TrainConfig(gbm=GbmParams(seed=seed))
        with _progress() as progress:
            rows = protocols.evaluate(
                name, panel, protocol, config, _stage_progress(progress, f"{name} ")
            )
        title = f"{name}: {protocol.name} ({panel.steps:,} steps x {panel.size} sensors)"
        out.print(_evaluation_table(title, rows, protocol.style == "tgcn"))
        every += rows
        if json_path is not None:
            # Rewritten after each dataset, so a long run that fails late keeps what it scored.
            json_path.write_bytes(_json_rows(every))
    if json_path is not None:
        console.print(f"wrote {len(every)} result rows to {json_path}", markup=False)
