"""Entry point for spark-submit, which then gives the master URL and resources::

    spark-submit --master spark://host:7077 --driver-memory 4g \\
        "$(python -c 'import trafficcast.spark.submit as m; print(m.__file__)')" \\
        backfill --start 2026-01-01 --end 2026-01-31 --to archive

The arguments are those of `trafficcast spark`; trafficcast must be installed where the
driver runs (the executors only run Spark SQL and need nothing of it).
"""

from __future__ import annotations

from trafficcast.cli.spark import app

if __name__ == "__main__":
    app(prog_name="trafficcast spark")
