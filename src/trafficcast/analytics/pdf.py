"""The performance report as a PDF: a summary page with charts, then tables.

matplotlib's PdfPages draws both the charts and the tables, one library for the whole
document. Figures are built with the object API (no pyplot global state), so reports
render safely from the API's worker threads. Text is embedded as TrueType (fonttype
42) so PDF readers and pdftotext can extract the figures.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

TITLE = "Traffic performance report"
A4_LANDSCAPE = (11.69, 8.27)
TOP_ROWS = 20
OPERATION_ROWS = 12  # periods per incidents-and-system page (each table has a total row too)


def number(value: float | None, digits: int = 0) -> str:
    """How a figure is printed in the PDF (thousands separators, fixed decimals)."""
    return "n/a" if value is None else f"{value:,.{digits}f}"


def period_label(report: dict[str, Any]) -> str:
    return (
        f"{report['start'][:10]} to {report['end'][:10]} (end exclusive), "
        f"by {report['period']}, {report['timezone']}"
    )


def _table(ax: Any, header: list[str], body: list[list[str]], title: str) -> None:
    ax.axis("off")
    ax.set_title(title, loc="left", fontsize=12, fontweight="bold")
    if not body:
        ax.text(0.0, 0.9, "none in this range", fontsize=10, transform=ax.transAxes)
        return
    table = ax.table(cellText=body, colLabels=header, loc="upper left", cellLoc="right")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1.0, 1.2)
    if any("\n" in h for h in header):  # a header of two lines gets a row of twice the height
        for (row, _), c in table.get_celld().items():
            if row == 0:
                c.set_height(c.get_height() * 2)


def _summary_rows(report: dict[str, Any]) -> list[list[str]]:
    t = report["totals"]
    rows = [
        ["Vehicle-miles travelled (VMT)", number(t["vmt"])],
        ["Vehicle-hours travelled (VHT)", number(t["vht"])],
    ]
    for ref, delay in t["delay_vehicle_hours"].items():
        rows.append([f"Delay at {ref} mph (vehicle-hours)", number(delay)])
    rows += [
        ["Travel-time index", number(t["travel_time_index"], 3)],
        ["Mean speed (mph)", number(t["mean_speed"], 1)],
        [
            f"Congestion hours (< {report['congestion_mph']:g} mph)",
            number(t["congestion_hours"], 1),
        ],
        ["Recurring bottlenecks", str(len(report["bottlenecks"]))],
    ]
    if "incidents" in report:
        by_type = report["incidents"]["totals"]["by_type"]
        rows += [
            ["Alerts opened", f"{report['incidents']['totals']['opened']:,}"],
            ["Incident alerts", f"{by_type.get('incident', 0):,}"],
        ]
    if "accuracy" in report:
        rows.append(
            [
                "Forecast MAE, all horizons (mph)",
                number(report["accuracy"]["totals"]["speed_mae"], 2),
            ]
        )
    if "system" in report:
        rows.append(
            ["Detector readings received", percent(report["system"]["totals"]["sample_share"])]
        )
    return rows


def _summary_page(report: dict[str, Any]) -> Figure:
    fig = Figure(figsize=A4_LANDSCAPE)
    fig.suptitle(TITLE, fontsize=18, fontweight="bold", x=0.05, ha="left")
    fig.text(0.05, 0.905, period_label(report), fontsize=11)
    grid = fig.add_gridspec(3, 2, left=0.06, right=0.97, top=0.86, bottom=0.08, hspace=0.55)
    _table(fig.add_subplot(grid[:, 0]), ["Measure", "Value"], _summary_rows(report), "Summary")
    labels = [p["start"][:10] for p in report["periods"]]
    x = range(len(labels))
    charts: list[tuple[str, list[tuple[str, list[float]]]]] = [
        ("Vehicle-miles travelled", [("VMT", [p["vmt"] for p in report["periods"]])]),
        ("Vehicle-hours travelled", [("VHT", [p["vht"] for p in report["periods"]])]),
        (
            "Delay (vehicle-hours)",
            [
                (f"at {ref} mph", [p["delay_vehicle_hours"][ref] for p in report["periods"]])
                for ref in report["totals"]["delay_vehicle_hours"]
            ],
        ),
    ]
    for row, (title, series) in enumerate(charts):
        ax = fig.add_subplot(grid[row, 1])
        width = 0.8 / len(series)
        for k, (name, values) in enumerate(series):
            ax.bar([i + k * width for i in x], values, width=width, label=name)
        ax.set_title(title, fontsize=10, loc="left")
        step = max(1, len(labels) // 8)
        ax.set_xticks(list(x)[::step], labels[::step], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        if len(series) > 1:
            ax.legend(fontsize=7)
    return fig


def _tables_page(report: dict[str, Any]) -> Figure:
    fig = Figure(figsize=A4_LANDSCAPE)
    fig.suptitle(f"{TITLE}: worst segments and bottlenecks", fontsize=14, x=0.05, ha="left")
    refs = list(report["totals"]["delay_vehicle_hours"])
    top = fig.add_axes((0.05, 0.45, 0.9, 0.45))
    _table(
        top,
        ["Rank", "Segment", "VMT", "VHT", *(f"Delay {r} mph" for r in refs), "TTI", "LOS"],
        [
            [
                str(s["rank"]),
                str(s["name"] or s["segment_id"])[:40],
                number(s["vmt"]),
                number(s["vht"]),
                *(number(s["delay_vehicle_hours"][r]) for r in refs),
                number(s["travel_time_index"], 3),
                s["level_of_service"] or "n/a",
            ]
            for s in report["segments"][: TOP_ROWS // 2]
        ],
        "Segments with the most delay",
    )
    bottom = fig.add_axes((0.05, 0.03, 0.9, 0.36))
    _table(
        bottom,
        ["Upstream", "Downstream", "Days active", "Hours active", "Mean drop (mph)"],
        [
            [
                b["upstream_segment_id"][:30],
                b["segment_id"][:30],
                str(b["active_days"]),
                number(b["active_hours"], 2),
                number(b["mean_drop_mph"], 1),
            ]
            for b in report["bottlenecks"][: TOP_ROWS // 2]
        ],
        "Top recurring bottlenecks",
    )
    return fig


def _periods_page(report: dict[str, Any], rows: list[dict[str, Any]], part: int) -> Figure:
    fig = Figure(figsize=A4_LANDSCAPE)
    fig.suptitle(f"{TITLE}: measures by {report['period']} ({part})", fontsize=14, x=0.05)
    refs = list(report["totals"]["delay_vehicle_hours"])
    _table(
        fig.add_axes((0.05, 0.03, 0.9, 0.85)),
        ["Start", "VMT", "VHT", *(f"Delay {r} mph" for r in refs), "TTI", "Congestion h"],
        [
            [
                p["start"][:10],
                number(p["vmt"]),
                number(p["vht"]),
                *(number(p["delay_vehicle_hours"][r]) for r in refs),
                number(p["travel_time_index"], 3),
                number(p["congestion_hours"], 1),
            ]
            for p in rows
        ],
        "Periods",
    )
    return fig


def percent(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:,.1f}%"


def _horizon_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [
        [
            str(h.get("horizon_minutes", "all")),
            f"{h['n']:,}",
            number(h["speed_mae"], 2),
            number(h["speed_rmse"], 2),
            number(h["speed_mape"], 1),
            percent(h["speed_coverage"]),
        ]
        for h in rows
    ]


def _accuracy_page(report: dict[str, Any]) -> Figure:
    acc = report["accuracy"]
    fig = Figure(figsize=A4_LANDSCAPE)
    fig.suptitle(f"{TITLE}: forecast accuracy", fontsize=14, x=0.05, ha="left")
    fig.text(0.05, 0.905, "Stored forecasts scored against the windows that closed", fontsize=10)
    grid = fig.add_gridspec(2, 2, left=0.06, right=0.97, top=0.85, bottom=0.05, hspace=0.4)
    horizons = acc["by_horizon"]
    ax = fig.add_subplot(grid[0, 0])
    ax.set_title("Speed error by horizon (mph)", fontsize=10, loc="left")
    if horizons:
        x = range(len(horizons))
        for k, (name, key) in enumerate((("MAE", "speed_mae"), ("RMSE", "speed_rmse"))):
            values = [h[key] if h[key] is not None else 0.0 for h in horizons]
            ax.bar([i + k * 0.4 for i in x], values, width=0.4, label=name)
        ax.set_xticks([i + 0.2 for i in x], [f"{h['horizon_minutes']} min" for h in horizons])
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no forecasts scored", ha="center", transform=ax.transAxes)
    ax.tick_params(labelsize=7)
    ax = fig.add_subplot(grid[0, 1])
    ax.set_title(f"MAE by {report['period']} and horizon (mph)", fontsize=10, loc="left")
    periods = acc["periods"]
    labels = [p["start"][:10] for p in periods]
    for h in horizons:
        values = [
            next(
                (
                    r["speed_mae"]
                    for r in p["by_horizon"]
                    if r["horizon_minutes"] == h["horizon_minutes"]
                ),
                None,
            )
            for p in periods
        ]
        ax.plot(
            range(len(periods)),
            [np.nan if v is None else v for v in values],
            marker="o",
            markersize=3,
            label=f"{h['horizon_minutes']} min",
        )
    if horizons:
        ax.legend(fontsize=7)
    step = max(1, len(labels) // 8)
    ax.set_xticks(list(range(len(labels)))[::step], labels[::step], fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    _table(
        fig.add_subplot(grid[1, :]),
        ["Horizon (min)", "Scored", "MAE (mph)", "RMSE (mph)", "MAPE (%)", "In band"],
        _horizon_rows([*horizons, acc["totals"]]) if horizons else [],
        "Accuracy by horizon over the whole range",
    )
    return fig


def _incident_cells(row: dict[str, Any], label: str, incidents: dict[str, Any]) -> list[str]:
    return [
        label,
        f"{row['opened']:,}",
        *(f"{row['by_type'][t]:,}" for t in incidents["types"]),
        *(f"{row['by_severity'][s]:,}" for s in incidents["severities"]),
        number(row["median_minutes_to_acknowledge"], 1),
        number(row["median_minutes_to_resolve"], 1),
    ]


def _system_cells(row: dict[str, Any], label: str) -> list[str]:
    return [
        label,
        f"{row['windows_closed']:,}",
        f"{row['detector_days']:,}",
        percent(row["healthy_share"]),
        f"{row['samples_received']:,}",
        percent(row["sample_share"]),
        f"{row['forecast_issues']:,}",
    ]


def _operations_page(report: dict[str, Any], first: int, part: int) -> Figure:
    incidents, system = report["incidents"], report["system"]
    fig = Figure(figsize=A4_LANDSCAPE)
    fig.suptitle(
        f"{TITLE}: incidents and system performance ({part})", fontsize=14, x=0.05, ha="left"
    )
    last = first + OPERATION_ROWS
    _table(
        fig.add_axes((0.05, 0.5, 0.9, 0.4)),
        [
            "Start",
            "Alerts",
            *(t.replace("_", "\n") for t in incidents["types"]),
            *incidents["severities"],
            "Median min\nto ack",
            "Median min\nto resolve",
        ],
        [_incident_cells(p, p["start"][:10], incidents) for p in incidents["periods"][first:last]]
        + [_incident_cells(incidents["totals"], "Total", incidents)],
        "Alerts opened, by type and severity",
    )
    _table(
        fig.add_axes((0.05, 0.03, 0.9, 0.4)),
        [
            "Start",
            "Windows closed",
            "Detector-days",
            "Healthy",
            "Readings received",
            "Of expected",
            "Forecast issues",
        ],
        [_system_cells(p, p["start"][:10]) for p in system["periods"][first:last]]
        + [_system_cells(system["totals"], "Total")],
        "System performance",
    )
    return fig


def render_pdf(report: dict[str, Any]) -> bytes:
    """The report (as report_json gives it) as PDF bytes."""
    buffer = io.BytesIO()
    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(buffer) as pdf:
        pdf.savefig(_summary_page(report))
        pdf.savefig(_tables_page(report))
        periods = report["periods"]
        for part, i in enumerate(range(0, len(periods), 30), start=1):
            pdf.savefig(_periods_page(report, periods[i : i + 30], part))
        if "accuracy" in report:
            pdf.savefig(_accuracy_page(report))
        if "incidents" in report and "system" in report:
            for part, i in enumerate(range(0, len(periods), OPERATION_ROWS), start=1):
                pdf.savefig(_operations_page(report, i, part))
        info = pdf.infodict()
        info["Title"] = TITLE
    return buffer.getvalue()
