"""Authenticated API reads: latency at 1 000 requests/s, and throughput beside auth and limits off.

One store is prepared first (300 simulated segments, 3 h of readings through the
pipeline; a premium viewer user and a premium API key made with
trafficcast.auth.service), then copied, and two `trafficcast serve` subprocesses
run on the copies side by side:
    on   TRAFFICCAST_ANONYMOUS_ROLE="" (an anonymous read gets 401), rate limits at
         their defaults (anonymous 100/h, authenticated 1 000/h) except the premium
         class, raised above what the run sends so that nothing is refused; the
         limiter still counts every request (checked: X-RateLimit-Remaining falls).
    off  TRAFFICCAST_ANONYMOUS_ROLE=admin and every rate limit 0: the auth middleware
         still runs and resolves each request to the anonymous principal; the
         limiter is skipped (a class whose limit is 0 is not counted).
The endpoint is GET /api/traffic/current: what the dashboard's overview and map poll
(the newest reading of every segment). It is served from the encoded-response cache
while the data stands still, so the framework and middleware are nearly all of its
cost: the strictest case for the auth overhead ratio.

(a) open loop: 1 000 requests/s for --duration s per credential kind (X-API-Key,
    Bearer JWT from POST /auth/login), latency from each scheduled send time
    (bench/_load.py, as api_reads.py); off is run too, for reference.
(b) saturated: wrk -t1 -c32, --wrk-repeats rounds of off / api-key / jwt (the order
    rotating, each run after a 1 s warm-up); ratio = the median over rounds of on / off
    in the same round, target >= 90 %; beside it the server's CPU time per request (from
    /proc), steadier on a shared machine.
(c) the per-call cost of Authenticator.api_key / .bearer (and their parts) and of
    one MemoryRateLimiter.hit, in a loop.

With --pin (default) the servers run on CPU 1, the load generators (this process,
wrk) on CPU 0. When a target is missed (--profile auto) the on server is run once
more under pyinstrument while wrk sends JWT reads; the profile goes to
bench/results/profile_api_auth.txt.

    .venv/bin/python bench/api_auth.py            # 20 s open loop; wrk 6 rounds of 3 x 5 s; ~4 min
    .venv/bin/python bench/api_auth.py --quick    # 5 s, wrk 3 rounds of 3 x 3 s; ~1.5 min
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from _common import (
    ROOT,
    Server,
    console,
    fmt_int,
    fmt_ms,
    free_port,
    header,
    table,
    trafficcast_bin,
    verdict,
    wait_http,
)
from _load import run_open_loop, run_wrk

TARGET_P99_MS = 25.0
TARGET_RATIO = 0.90
PATH = "/api/traffic/current"
USERNAME = "bench-reader"
SERVER_CPU, CLIENT_CPU = "1", "0"


# ------------------------------------------------------------- store preparation


def _per_call_us(fn: Callable[[], object], n: int) -> float:
    for _ in range(min(n, 1000)):
        fn()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


def prepare(data_dir: Path, segments: int, history_hours: float, micro_n: int) -> None:
    """Child process: fill a store, make the accounts, time the credential checks.

    Prints one JSON line: the credentials and the micro-measurements.
    """
    from trafficcast.auth import service
    from trafficcast.auth.credentials import Authenticator
    from trafficcast.auth.directory import AccountDirectory
    from trafficcast.auth.roles import Role, Tier
    from trafficcast.auth.tokens import TokenIssuer
    from trafficcast.config import Settings
    from trafficcast.ratelimit.memory import MemoryRateLimiter
    from trafficcast.runtime import Runtime
    from trafficcast.sources.simulator import Simulator, SimulatorConfig

    settings = Settings(data_dir=data_dir)
    runtime = Runtime(settings)
    sim = Simulator(SimulatorConfig(n_segments=segments, seed=42))
    runtime.register_segments(sim.segments, sim.links)
    runtime.start()
    interval = sim.config.reading_interval_s * 1000
    end = int(time.time() * 1000)
    end -= end % interval
    t = end - int(history_hours * 3_600_000)
    events = 0
    while t < end:
        batch = sim.events(t, min(t + 900_000, end))
        runtime.bus.publish(batch)
        events += batch.num_rows
        t += 900_000
    runtime.processor.request_flush()
    runtime.processor.wait_idle(timeout=600)

    store = runtime.store
    password = service.random_password()
    service.create_user(store, USERNAME, password, Role.VIEWER, Tier.PREMIUM)
    key, _ = service.create_key(store, "bench reader", Role.API, Tier.PREMIUM, "bench")

    # (c): the same objects create_app builds, on this store.
    directory = AccountDirectory(store)
    directory.reload()
    s = settings
    issuer = TokenIssuer(
        service.token_secret(store, s.jwt_secret),
        s.access_token_minutes * 60,
        s.refresh_token_hours * 3600,
    )
    auth = Authenticator(directory, issuer, None)
    token = issuer.issue(USERNAME, 0).access_token
    assert auth.bearer(token).subject == USERNAME
    assert auth.api_key(key).kind == "api_key"
    limiter = MemoryRateLimiter()

    async def hits(n: int) -> float:
        for _ in range(1000):
            await limiter.hit("premium:user:x", 1_000_000_000, 3600)
        t0 = time.perf_counter()
        for _ in range(n):
            await limiter.hit("premium:user:x", 1_000_000_000, 3600)
        return (time.perf_counter() - t0) / n * 1e6

    micro = {
        "Authenticator.api_key": _per_call_us(lambda: auth.api_key(key), micro_n),
        "Authenticator.bearer (JWT)": _per_call_us(lambda: auth.bearer(token), micro_n),
        "  of which TokenIssuer.verify (PyJWT decode + checks)": _per_call_us(
            lambda: issuer.verify(token, "access"), micro_n
        ),
        "Authenticator.anonymous": _per_call_us(lambda: auth.anonymous("127.0.0.1"), micro_n),
        "MemoryRateLimiter.hit (awaited)": min(asyncio.run(hits(micro_n)) for _ in range(3)),
    }
    runtime.stop()
    print(
        json.dumps(
            {"key": key, "password": password, "events": events, "micro_us": micro},
        ),
        flush=True,
    )


# ---------------------------------------------------------------------- helpers


def login(base: str, password: str) -> str:
    r = httpx.post(f"{base}/auth/login", json={"username": USERNAME, "password": password})
    r.raise_for_status()
    token: str = r.json()["access_token"]
    return token


def probe(base: str, headers: Mapping[str, str]) -> httpx.Response:
    return httpx.get(base + PATH, headers=dict(headers), timeout=10)


def remaining(base: str, headers: Mapping[str, str]) -> int:
    r = probe(base, headers)
    if r.status_code != 200 or "x-ratelimit-remaining" not in r.headers:
        raise RuntimeError(f"no rate-limit budget on {PATH}: HTTP {r.status_code} {r.headers}")
    return int(r.headers["x-ratelimit-remaining"])


def server_env(on: bool, premium_limit: int) -> dict[str, str]:
    from trafficcast.config import Settings

    fields = Settings.model_fields
    if on:
        return {
            "TRAFFICCAST_ANONYMOUS_ROLE": "",
            "TRAFFICCAST_RATE_LIMIT_ANONYMOUS_PER_HOUR": str(
                fields["rate_limit_anonymous_per_hour"].default
            ),
            "TRAFFICCAST_RATE_LIMIT_AUTHENTICATED_PER_HOUR": str(
                fields["rate_limit_authenticated_per_hour"].default
            ),
            "TRAFFICCAST_RATE_LIMIT_PREMIUM_PER_HOUR": str(premium_limit),
            "TRAFFICCAST_REDIS_URL": "",
        }
    return {
        "TRAFFICCAST_ANONYMOUS_ROLE": "admin",
        "TRAFFICCAST_RATE_LIMIT_ANONYMOUS_PER_HOUR": "0",
        "TRAFFICCAST_RATE_LIMIT_AUTHENTICATED_PER_HOUR": "0",
        "TRAFFICCAST_RATE_LIMIT_PREMIUM_PER_HOUR": "0",
        "TRAFFICCAST_REDIS_URL": "",
    }


def cpu_s(server: Server) -> float:
    """User + system CPU seconds of the server process so far (all its threads).

    Other work on the machine stretches wall time but not much the CPU a request
    costs, so CPU per request is the steadier figure when the machine is shared.
    """
    assert server.proc is not None
    fields = Path(f"/proc/{server.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_fraction(seconds: float = 2.0) -> float:
    """Share of the machine's CPU time in use over `seconds` (from /proc/stat)."""

    def sample() -> tuple[int, int]:
        v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait

    t0, i0 = sample()
    time.sleep(seconds)
    t1, i1 = sample()
    return 1 - (i1 - i0) / max(1, t1 - t0)


def wait_quiet(limit_s: float, threshold: float = 0.25) -> str:
    """Wait (up to limit_s) until the rest of the machine is nearly idle; say how it was."""
    deadline = time.monotonic() + limit_s
    busy = busy_fraction()
    while busy > threshold and time.monotonic() < deadline:
        busy = busy_fraction()
    return f"{100 * busy:.0f} % of both cores busy before the run"


def start_server(
    stack: contextlib.ExitStack,
    data_dir: Path,
    log: Path,
    env: dict[str, str],
    pin: bool,
    timeout: float,
    wrapper: list[str] | None = None,
) -> tuple[str, Server]:
    port = free_port()
    prefix = ["taskset", "-c", SERVER_CPU] if pin else []
    cmd = [*(wrapper or [trafficcast_bin()]), "serve", "--port", str(port)]
    cmd += ["--data-dir", str(data_dir)]
    server = stack.enter_context(Server([*prefix, *cmd], log, env=env))
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/health", timeout, server=server)
    return base, server


# ------------------------------------------------------------------------- main


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=None, help="open-loop s (20; quick 5)")
    p.add_argument("--rate", type=float, default=1000.0, help="open-loop requests/s")
    p.add_argument("--pool", type=int, default=64, help="open-loop connection pool")
    p.add_argument("--wrk-duration", type=int, default=None, help="wrk s per run (5; quick 3)")
    p.add_argument("--wrk-connections", type=int, default=32)
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument(
        "--wrk-repeats",
        type=int,
        default=None,
        help="rounds of off/key/jwt, order rotating (6; quick 3)",
    )
    p.add_argument("--segments", type=int, default=300)
    p.add_argument("--history-hours", type=float, default=3.0)
    p.add_argument(
        "--premium-limit",
        type=int,
        default=1_000_000,
        help="TRAFFICCAST_RATE_LIMIT_PREMIUM_PER_HOUR of the on server: above what the run "
        "sends per credential, yet low enough that the budget visibly falls",
    )
    p.add_argument("--micro-iterations", type=int, default=20_000)
    p.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"servers on CPU {SERVER_CPU}, load generators on CPU {CLIENT_CPU} (default on)",
    )
    p.add_argument(
        "--reference-open-loop",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run the open loop against the off server (default on; quick off)",
    )
    p.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        help="first wait up to this many s for the machine to be < 25 %% busy (shared hosts)",
    )
    p.add_argument("--profile", choices=["auto", "always", "never"], default="auto")
    p.add_argument("--profile-seconds", type=int, default=15)
    p.add_argument("--startup-timeout", type=float, default=120.0)
    p.add_argument("--quick", action="store_true", help="short phases; about a minute")
    p.add_argument(
        "--prepare", nargs=4, metavar=("DIR", "SEG", "HOURS", "N"), help=argparse.SUPPRESS
    )
    args = p.parse_args()
    if args.prepare:
        d, seg, hours, n = args.prepare
        prepare(Path(d), int(seg), float(hours), int(n))
        return 0
    duration = args.duration or (5.0 if args.quick else 20.0)
    wrk_s = args.wrk_duration or (3 if args.quick else 5)
    repeats = args.wrk_repeats or (3 if args.quick else 6)
    ref_open = (not args.quick) if args.reference_open_loop is None else args.reference_open_loop
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed for (b): apt-get install -y wrk (scripts/install-bench.sh)")
    pin = args.pin and shutil.which("taskset") is not None and (os.cpu_count() or 1) >= 2
    wrk_prefix = ["taskset", "-c", CLIENT_CPU] if pin else []

    header("api_auth: authenticated reads with rate limiting, beside auth and limits off")
    console.print(f"load:    {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min)")
    console.print(f"         {wait_quiet(args.wait_quiet)}")
    console.print(
        f"setup:   servers pinned to CPU {SERVER_CPU}, open-loop client and wrk to CPU "
        f"{CLIENT_CPU} (taskset)"
        if pin
        else "setup:   no CPU pinning: servers and load generators share both cores"
    )

    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tc-bench-auth-")))
        t0 = time.perf_counter()
        prep = subprocess.run(
            [
                *(["taskset", "-c", SERVER_CPU] if pin else []),
                sys.executable,
                __file__,
                "--prepare",
                str(tmp / "on"),
                str(args.segments),
                str(args.history_hours),
                str(args.micro_iterations),
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        if prep.returncode != 0:
            raise SystemExit(f"store preparation failed:\n{prep.stderr[-3000:]}")
        made = json.loads(prep.stdout.strip().splitlines()[-1])
        key: str = made["key"]
        password: str = made["password"]
        shutil.copytree(tmp / "on", tmp / "off")
        console.print(
            f"store:   {args.segments} simulated segments, {made['events']:,} readings "
            f"({args.history_hours:g} h) through the pipeline, user {USERNAME!r} (viewer, premium) "
            f"and API key {key[:12]}… (api, premium); {time.perf_counter() - t0:.0f} s"
        )
        if pin:
            os.sched_setaffinity(0, {int(CLIENT_CPU)})

        on_base, on_server = start_server(
            stack,
            tmp / "on",
            tmp / "on.log",
            server_env(True, args.premium_limit),
            pin,
            args.startup_timeout,
        )
        off_base, off_server = start_server(
            stack, tmp / "off", tmp / "off.log", server_env(False, 0), pin, args.startup_timeout
        )

        # Sanity: what each configuration answers, and that both serve the same bytes.
        token = login(on_base, password)
        creds: dict[str, Callable[[], dict[str, str]]] = {
            "api-key": lambda: {"X-API-Key": key},
            # A fresh sign-in per phase: the access token lives 15 min by default.
            "jwt": lambda: {"Authorization": f"Bearer {login(on_base, password)}"},
        }
        anon_on = probe(on_base, {})
        anon_off = probe(off_base, {})
        with_key = probe(on_base, {"X-API-Key": key})
        with_jwt = probe(on_base, {"Authorization": f"Bearer {token}"})
        rows = [
            ["on", "none", anon_on.status_code, len(anon_on.content), "-"],
            ["on", "X-API-Key", with_key.status_code, len(with_key.content),
             with_key.headers.get("x-ratelimit-remaining", "-")],
            ["on", "Bearer JWT", with_jwt.status_code, len(with_jwt.content),
             with_jwt.headers.get("x-ratelimit-remaining", "-")],
            ["off", "none (anonymous = admin)", anon_off.status_code, len(anon_off.content),
             anon_off.headers.get("x-ratelimit-remaining", "(no header: not counted)")],
        ]  # fmt: skip
        console.print(
            table(f"GET {PATH}", ["server", "credential", "HTTP", "bytes", "remaining"], rows)
        )
        n_segments = len(with_key.json().get("segments", []))
        problems = []
        if anon_on.status_code != 401:
            problems.append(f"on server answered an anonymous read with {anon_on.status_code}")
        if (
            with_key.status_code != 200
            or with_jwt.status_code != 200
            or anon_off.status_code != 200
        ):
            problems.append("a credentialed (or off) read did not get 200")
        if with_key.content != anon_off.content:
            problems.append("on and off servers answered different bodies")
        if problems:
            raise SystemExit("; ".join(problems))
        console.print(f"  body: {n_segments} segments, identical on both servers")

        budget_log: list[list[object]] = []
        rate_per_s = args.premium_limit / 3600

        def counted(name: str, headers: Mapping[str, str], run: Callable[[], int]) -> None:
            """Run a phase and record how far the credential's budget fell during it."""
            before = remaining(on_base, headers)
            t = time.perf_counter()
            sent = run()
            elapsed = time.perf_counter() - t
            after = remaining(on_base, headers)
            refill = rate_per_s * elapsed
            budget_log.append(
                [name, fmt_int(sent), fmt_int(before), fmt_int(after), fmt_int(before - after),
                 fmt_int(sent + 1 - refill)]
            )  # fmt: skip

        # (a) open loop -----------------------------------------------------------------
        client_kind = "aiohttp"
        targets: list[tuple[str, str, Callable[[], dict[str, str]]]] = [
            ("api-key", on_base, creds["api-key"]),
            ("jwt", on_base, creds["jwt"]),
        ]
        if ref_open:
            targets.append(("off (anonymous)", off_base, dict))
        open_res: dict[str, dict[str, Any]] = {}
        for name, base, make in targets:
            headers = make()
            box: dict[str, Any] = {}

            def go(
                base: str = base, headers: dict[str, str] = headers, box: dict[str, Any] = box
            ) -> int:
                server = on_server if base == on_base else off_server
                c0, t0 = cpu_s(server), time.perf_counter()
                box.update(
                    run_open_loop(base + PATH, args.rate, duration, args.pool, client_kind, headers)
                )
                box["cpu_pct"] = 100 * (cpu_s(server) - c0) / (time.perf_counter() - t0)
                return int(box["n"] + box["warmup"])

            if base == on_base:
                counted(f"open loop, {name}", headers, go)
            else:
                go()
            open_res[name] = box
            time.sleep(1.0)
        rows = []
        for name, r in open_res.items():
            judged = not name.startswith("off")
            rows.append(
                [name, fmt_int(r["send_rate"]), fmt_int(r["done_rate"]), fmt_ms(r["p50"]),
                 fmt_ms(r["p90"]), fmt_ms(r["p99"]), fmt_ms(r["max"]), fmt_int(r["errors"]),
                 f"{r['cpu_pct']:.0f} %",
                 verdict(r["p99"] < TARGET_P99_MS and r["errors"] == 0) if judged
                 else "(reference)"]
            )  # fmt: skip
        console.print(
            table(
                f"(a) open loop GET {PATH} at {args.rate:,.0f} req/s for {duration:g} s per "
                f"credential (latency from scheduled send; {client_kind} pool {args.pool}); "
                f"target p99 < {TARGET_P99_MS:g} ms, auth + rate limiting on",
                ["credential", "sent/s", "done/s", "p50 ms", "p90 ms", "p99 ms", "max ms",
                 "errors", "server CPU", "result"],
                rows,
            )
        )  # fmt: skip
        for name, r in open_res.items():
            if r["errors"] or r["max_send_lag_ms"] > 50:
                console.print(
                    f"  {name}: status codes {r['codes']}, client send lag max "
                    f"{r['max_send_lag_ms']:.1f} ms"
                )

        # (b) saturated -----------------------------------------------------------------
        # Rounds of off / api-key / jwt back to back; each on run is judged against the off
        # run of its own round, so load from elsewhere on the machine that comes and goes
        # between rounds cancels out, and the median of those paired ratios is reported.
        runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        servers = {"off": (off_base, off_server), "api-key": (on_base, on_server),
                   "jwt": (on_base, on_server)}  # fmt: skip

        def one_wrk(name: str, headers: dict[str, str] | None) -> int:
            base, server = servers[name]
            c0 = cpu_s(server)
            res = run_wrk(base + PATH, args.wrk_threads, args.wrk_connections, wrk_s, headers,
                          wrk_prefix)  # fmt: skip
            res["cpu_us"] = (cpu_s(server) - c0) / max(1, res["requests"]) * 1e6
            runs[name].append(res)
            return int(res["requests"])

        # The order rotates each round, so no configuration always runs first (after an
        # idle spell) or last; each run follows a 1 s unmeasured warm-up of its server.
        orders = [("off", "api-key", "jwt"), ("api-key", "jwt", "off"), ("jwt", "off", "api-key")]
        for i in range(repeats):
            for name in orders[i % len(orders)]:
                headers = None if name == "off" else creds[name]()
                run_wrk(servers[name][0] + PATH, args.wrk_threads, args.wrk_connections, 1,
                        headers, wrk_prefix)  # fmt: skip
                if headers is None:
                    one_wrk(name, None)
                else:
                    counted(f"wrk, {name}", headers, lambda n=name, h=headers: one_wrk(n, h))
                time.sleep(1.0)

        def median(xs: list[float]) -> float:
            return statistics.median(xs) if xs else float("nan")

        rows = []
        ratios: dict[str, float] = {}
        cpu_ratios: dict[str, float] = {}
        off_cpu = median([r["cpu_us"] for r in runs["off"]])
        for name, label in (("off", "off: anonymous = admin, limits 0"),
                            ("api-key", "on: X-API-Key"), ("jwt", "on: Bearer JWT")):  # fmt: skip
            rs = runs[name]
            errs = sum(r["non2xx"] + r["sock_errors"] for r in rs)
            paired = [r["rps"] / o["rps"] for r, o in zip(rs, runs["off"], strict=True)]
            cpu = median([r["cpu_us"] for r in rs])
            if name != "off":
                ratios[name] = median(paired)
                cpu_ratios[name] = off_cpu / cpu
            rows.append(
                [label, ", ".join(fmt_int(x["rps"]) for x in rs),
                 fmt_int(median([r["rps"] for r in rs])),
                 fmt_ms(median([r["p50"] for r in rs])), fmt_ms(median([r["p99"] for r in rs])),
                 fmt_int(errs), f"{cpu:.0f}",
                 "" if name == "off" else ", ".join(f"{100 * x:.0f}" for x in paired),
                 "" if name == "off" else f"{100 * ratios[name]:.1f} %",
                 "" if name == "off" else f"{100 * cpu_ratios[name]:.1f} %",
                 "" if name == "off" else verdict(ratios[name] >= TARGET_RATIO and errs == 0)]
            )  # fmt: skip
        console.print(
            table(
                f"(b) saturated GET {PATH}: wrk -t{args.wrk_threads} -c{args.wrk_connections} "
                f"-d{wrk_s}s, {repeats} rounds of off / api-key / jwt; ratio = median over rounds "
                f"of on / off in the same round, target >= {100 * TARGET_RATIO:.0f} %; CPU ratio = "
                f"off / on server CPU per request (steadier on a shared machine)",
                ["configuration", "req/s per round", "median req/s", "p50 ms", "p99 ms",
                 "errors", "server CPU µs/req", "on/off per round %", "ratio", "CPU ratio",
                 "result"],
                rows,
            )
        )  # fmt: skip
        console.print(
            table(
                f"rate limiter on every request: X-RateLimit-Remaining before and after each phase "
                f"(premium limit {args.premium_limit:,}/h refills {rate_per_s:,.0f}/s)",
                ["phase", "requests", "remaining before", "after", "fell by",
                 "expected: requests + 1 probe - refill"],
                budget_log,
            )
        )  # fmt: skip

        # (c) micro ------------------------------------------------------------------------
        console.print(
            table(
                f"(c) per call, best of 5 loops of {args.micro_iterations:,} (one process"
                f"{', CPU ' + SERVER_CPU if pin else ''})",
                ["call", "µs"],
                [[k, f"{v:.2f}"] for k, v in made["micro_us"].items()],
            )
        )
        console.print(
            f"  server CPU per request: off {off_cpu:.0f} µs; on adds "
            + ", ".join(
                f"{name} {median([r['cpu_us'] for r in runs[name]]) - off_cpu:.0f} µs"
                for name in ("api-key", "jwt")
            )
        )

        p99_ok = all(
            r["p99"] < TARGET_P99_MS and r["errors"] == 0
            for n, r in open_res.items()
            if not n.startswith("off")
        )
        ratio_ok = all(v >= TARGET_RATIO for v in ratios.values())
        console.print(
            f"\nsummary: open-loop p99 < {TARGET_P99_MS:g} ms "
            f"{verdict(p99_ok)}; saturated on/off >= {100 * TARGET_RATIO:.0f} % "
            f"({', '.join(f'{k} {100 * v:.1f} %' for k, v in ratios.items())}) {verdict(ratio_ok)}"
        )
        for s, label in ((on_server, "on"), (off_server, "off")):
            if not s.alive():
                console.print(f"[red]{label} server died; log tail:[/]\n{s.log_tail()}")

        if args.profile == "always" or (args.profile == "auto" and not (p99_ok and ratio_ok)):
            profile(tmp, password, args, pin, wrk_prefix)
        console.print(f"load:    {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1/5/15 min)")
    return 0


def profile(
    tmp: Path,
    password: str,
    args: argparse.Namespace,
    pin: bool,
    wrk_prefix: list[str],
) -> None:
    """The on server once more, under pyinstrument, while wrk sends JWT reads."""
    out = ROOT / "bench" / "results" / "profile_api_auth.txt"
    shutil.copytree(tmp / "on", tmp / "prof", ignore=shutil.ignore_patterns("*.wal"))
    wrapper = [sys.executable, "-m", "pyinstrument", "-r", "text", "--show-all", "-o", str(out),
               "-m", "trafficcast.cli"]  # fmt: skip
    inner = contextlib.ExitStack()
    with inner:
        base, _ = start_server(
            inner,
            tmp / "prof",
            tmp / "prof.log",
            server_env(True, args.premium_limit),
            pin,
            args.startup_timeout,
            wrapper,
        )
        res = run_wrk(
            base + PATH,
            args.wrk_threads,
            args.wrk_connections,
            args.profile_seconds,
            {"Authorization": f"Bearer {login(base, password)}"},
            wrk_prefix,
        )
    console.print(
        f"profile: on server under pyinstrument, wrk JWT reads {args.profile_seconds} s "
        f"({fmt_int(res['rps'])} req/s while sampled) -> {out.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    sys.exit(main())
