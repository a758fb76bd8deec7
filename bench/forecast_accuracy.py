"""Forecast accuracy on the published protocols, against the targets of the forecasting issue.

Runs the same evaluation as `trafficcast evaluate` (protocols.evaluate) on every
research set under `--data`, prints the full tables, then one table of targets:
Los-loop MAE at 15/30/45/60 min (T-GCN protocol), METR-LA-29 MAE at 15/30/60 min
(70/10/20, single step, zeros masked), interval coverage for every dataset and
horizon (75-85 % for a nominal 80 %), and the time to train all horizons on
Los-loop. Each target row shows the measured value, the target and the ratio.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

from _common import console, header, table
from trafficcast.forecast import protocols
from trafficcast.forecast.models.gbm import GbmParams
from trafficcast.forecast.protocols import ResultRow
from trafficcast.forecast.sources import panel_from_dataset
from trafficcast.forecast.training import TrainConfig

LOS_LOOP_MAE = {15: 2.60, 30: 2.95, 45: 3.20, 60: 3.40}
METR_MAE = {15: 2.85, 30: 3.25, 60: 3.60}
COVERAGE = (0.75, 0.85)
TRAIN_SECONDS = 60.0


def _rows_table(name: str, rows: list[ResultRow]) -> None:
    console.print(
        table(
            f"{name}: {rows[0].protocol}",
            [
                "quantity",
                "model",
                "min",
                "MAE",
                "RMSE",
                "MAPE %",
                "Acc",
                "cover",
                "width",
                "fit s",
                "score s",
            ],
            [
                [
                    r.quantity,
                    r.model + (" *" if r.chosen else ""),
                    r.horizon_min,
                    f"{r.mae:.3f}",
                    f"{r.rmse:.3f}",
                    f"{r.mape:.2f}",
                    f"{r.accuracy:.4f}",
                    "" if r.coverage != r.coverage else f"{r.coverage:.1%}",
                    "" if r.interval_width != r.interval_width else f"{r.interval_width:.2f}",
                    f"{r.train_seconds:.1f}",
                    f"{r.score_seconds:.2f}",
                ]
                for r in rows
            ],
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write every result row here")
    args = parser.parse_args()
    header("forecast accuracy on the published protocols")

    results: dict[str, list[ResultRow]] = {}
    for name, protocol in protocols.PROTOCOLS.items():
        folder = args.data / name
        if not folder.is_dir():
            console.print(f"[yellow]{folder} is absent: {name} skipped")
            continue
        graph_of = protocols.GRAPH_OF.get(name)
        links = None if graph_of is None else args.data / graph_of / "edges.csv"
        panel = panel_from_dataset(folder, "America/Los_Angeles", links)
        began = time.perf_counter()
        rows = protocols.evaluate(name, panel, protocol, TrainConfig(gbm=GbmParams(seed=args.seed)))
        console.print(f"{name}: evaluated in {time.perf_counter() - began:.1f} s")
        _rows_table(name, rows)
        results[name] = rows

    targets: list[list[object]] = []

    def chosen(name: str, quantity: str = "speed") -> dict[int, ResultRow]:
        return {
            r.horizon_min: r for r in results.get(name, []) if r.chosen and r.quantity == quantity
        }

    def add(
        label: str, value: float, target: float, unit: str, lower_is_better: bool = True
    ) -> None:
        ok = value <= target if lower_is_better else value >= target
        targets.append(
            [
                label,
                f"{value:.3f}{unit}",
                f"≤ {target}{unit}",
                f"{value / target:.1%}",
                "PASS" if ok else "FAIL",
            ]
        )

    for h, target in LOS_LOOP_MAE.items():
        if (row := chosen("los-loop").get(h)) is not None:
            add(f"Los-loop MAE {h} min ({row.model})", row.mae, target, " mph")
    for h, target in METR_MAE.items():
        if (row := chosen("metr-la-29").get(h)) is not None:
            add(f"METR-LA-29 MAE {h} min ({row.model})", row.mae, target, " mph")
    if (first := chosen("los-loop").get(15)) is not None:
        add("Los-loop training, all 12 horizons", first.train_seconds, TRAIN_SECONDS, " s")
    lo, hi = COVERAGE
    for name, rows in results.items():
        for r in rows:
            if r.chosen:
                ok = lo <= r.coverage <= hi
                targets.append(
                    [
                        f"{name} {r.quantity} {r.horizon_min} min 80 % interval coverage",
                        f"{r.coverage:.1%}",
                        f"{lo:.0%}-{hi:.0%}",
                        "",
                        "PASS" if ok else "FAIL",
                    ]
                )
    console.print(table("targets", ["measure", "value", "target", "ratio", "verdict"], targets))
    if args.json is not None:
        flat = [asdict(r) for rows in results.values() for r in rows]
        args.json.write_text(json.dumps(flat, indent=1, default=str).replace("NaN", "null"))


if __name__ == "__main__":
    main()
