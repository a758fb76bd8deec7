"""HTTP load generators shared by the API benchmarks (not a benchmark itself).

`open_loop` sends on a fixed clock and measures from each request's scheduled
send time (no coordinated omission); `run_wrk` drives wrk for saturated
throughput and parses its report. Both take request headers, so the same
generator measures anonymous and authenticated reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from _common import percentiles_ms


async def open_loop(
    url: str,
    rate: float,
    duration: float,
    pool: int,
    timeout: float,
    client_kind: str = "aiohttp",
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Send `rate` requests/s on a fixed schedule; latency = response end - scheduled time."""
    n = int(rate * duration)
    latency = np.full(n, np.nan)
    status = np.zeros(n, dtype=np.int32)
    hdrs = dict(headers or {})
    clock = time.perf_counter  # uvloop's loop.time() has only 1 ms resolution
    async with contextlib.AsyncExitStack() as stack:
        if client_kind == "aiohttp":
            import aiohttp

            session = await stack.enter_async_context(
                aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(limit=pool),
                    timeout=aiohttp.ClientTimeout(total=timeout),
                    headers=hdrs,
                )
            )

            async def get() -> int:
                async with session.get(url) as r:
                    await r.read()
                    return r.status
        else:
            import httpx

            client = await stack.enter_async_context(
                httpx.AsyncClient(
                    limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
                    timeout=timeout,
                    headers=hdrs,
                )
            )

            async def get() -> int:
                return (await client.get(url)).status_code

        # Open the pool's connections first; these warm-up requests are not measured.
        for _ in range(2):
            await asyncio.gather(*(get() for _ in range(pool)))

        async def one(i: int, scheduled: float) -> None:
            try:
                status[i] = await get()
            except Exception:
                status[i] = -1
            latency[i] = clock() - scheduled

        tasks = []
        start = clock() + 0.05
        lag = 0.0
        for i in range(n):
            scheduled = start + i / rate
            delay = scheduled - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                lag = max(lag, -delay)
            tasks.append(asyncio.create_task(one(i, scheduled)))
        sent_end = clock()
        await asyncio.gather(*tasks)
        end = clock()
    ok = status == 200
    return {
        "n": n,
        "warmup": 2 * pool,
        "ok": int(ok.sum()),
        "errors": int((~ok).sum()),
        "codes": {int(c): int((status == c).sum()) for c in np.unique(status)},
        "send_rate": n / (sent_end - start),
        "done_rate": n / (end - start),
        "max_send_lag_ms": lag * 1000,
        **percentiles_ms(latency[~np.isnan(latency)]),
    }


def run_open_loop(
    url: str,
    rate: float,
    duration: float,
    pool: int,
    client_kind: str,
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    coro = open_loop(url, rate, duration, pool, 10.0, client_kind, headers)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def run_wrk(
    url: str,
    threads: int,
    conns: int,
    seconds: int,
    headers: Mapping[str, str] | None = None,
    prefix: Sequence[str] = (),
) -> dict[str, Any]:
    """wrk's throughput, latency percentiles and errors; `prefix` wraps the command (taskset)."""
    hdr_args = [a for k, v in (headers or {}).items() for a in ("-H", f"{k}: {v}")]
    cmd = [
        *prefix,
        "wrk",
        f"-t{threads}",
        f"-c{conns}",
        f"-d{seconds}s",
        "--latency",
        *hdr_args,
        url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    res: dict[str, Any] = {"raw": out}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    res["rps"] = float(m.group(1)) if m else float("nan")
    for pct in ("50", "90", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", out, re.M)
        res[f"p{pct}"] = _ms(m.group(1)) if m else float("nan")
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["sock_errors"] = sum(int(g) for g in m.groups()) if m else 0
    m = re.search(r"(\d+) requests in", out)
    res["requests"] = int(m.group(1)) if m else 0
    return res
