"""Run every benchmark script and write ``bench/RESULTS.md`` (``make bench``).

Each ``bench/*.py`` (files starting with ``_`` excepted) runs in its own process with the size
arguments in ``SIZES`` (a script not listed runs with its own defaults), one after the other so
they never compete for the two cores. Their output is shown live and recorded: RESULTS.md holds,
per script, the exact command, its wall time, the load average before it started and its printed
tables, plus the machine it ran on (read from the machine itself: CPU model, cores, memory, OS,
Python, library versions) and the date. Figures from a shared machine are only as good as its
load at the time, which is why the load is recorded next to them.

    .venv/bin/python bench/_run.py [--only audit.py ledger.py] [--out bench/RESULTS.md]

Exit status 1 if a script failed (the others still run; the failure is in RESULTS.md).
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

# Sizes chosen so the whole `make bench` stays under ~15 minutes on a 2-core machine while each
# script still measures at the scale its target is stated for.
SIZES: dict[str, list[str]] = {
    "anonymity.py": ["--rows", "1000000", "5000000", "--pycanon-rows", "200000"],
    # fairlearn runs on 1M rows and is extrapolated; Spark local is measured separately at 1M
    # (`bench/audit.py 1000000`): its exact percentiles at 10M exceed the default driver heap
    "audit.py": ["10000000", "--no-spark"],
    "consent.py": ["20000"],
    "gateway.py": ["3000"],
    "ledger.py": ["2000", "1000000"],  # 2,000 appends per mode; verify over 1,000,000 events
    "monitor_pass.py": ["1000000"],  # one monitoring pass over 1M logged decisions
    "rights.py": ["1000000"],
}
LIBRARIES = (
    "trustcart",
    "duckdb",
    "ibis-framework",
    "pandas",
    "numpy",
    "fairlearn",
    "lightgbm",
    "sqlalchemy",
    "fastapi",
)


@dataclass
class Run:
    """One script's run."""

    script: str
    command: list[str]
    seconds: float
    load_before: tuple[float, float, float]
    returncode: int
    output: str
    purpose: str


def scripts(bench: Path = BENCH) -> list[Path]:
    """Every benchmark script, in name order (helpers starting with ``_`` left out)."""
    return sorted(p for p in bench.glob("*.py") if not p.name.startswith("_"))


def _purpose(script: Path) -> str:
    """First line of the script's docstring: what it measures and against which peer."""
    try:
        doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8")))
    except SyntaxError:
        return ""
    return doc.strip().splitlines()[0] if doc else ""


def _load() -> tuple[float, float, float]:
    try:
        return os.getloadavg()
    except OSError:  # not on every platform
        return (float("nan"),) * 3


def run_script(
    script: Path,
    args: Sequence[str],
    python: str = sys.executable,
    echo: Callable[[str], None] = print,
) -> Run:
    """Run one script, echoing its output as it comes, and keep that output."""
    command = [python, str(script), *args]
    load = _load()
    echo(f"== {script.name} {' '.join(args)}".rstrip())
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        echo(line.rstrip("\n"))
    returncode = proc.wait()
    return Run(
        script=script.name,
        command=command,
        seconds=time.perf_counter() - t0,
        load_before=load,
        returncode=returncode,
        output="".join(lines),
        purpose=_purpose(script),
    )


def machine() -> dict[str, str]:
    """What the figures were measured on, read from the machine itself."""
    info: dict[str, str] = {}
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["CPU"] = f"{cpu}, {os.cpu_count()} logical cores"
    try:
        kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
        info["memory"] = f"{kib / 1024**2:.1f} GiB"
    except (OSError, StopIteration):
        info["memory"] = "unknown"
    os_name = platform.system()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    info["OS"] = f"{os_name}, kernel {platform.release()} ({platform.machine()})"
    info["Python"] = f"{platform.python_version()} ({platform.python_implementation()})"
    import sqlite3

    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    versions.append(f"SQLite {sqlite3.sqlite_version}")
    info["libraries"] = ", ".join(versions)
    info["PostgreSQL"] = _postgres_version()
    return info


def _postgres_version() -> str:
    url = os.environ.get(
        "TRUSTCART_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    try:
        import psycopg

        with psycopg.connect(url.replace("+psycopg", ""), connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        host = url.rsplit("@", 1)[-1]
        return f"{row[0] if row else '?'} at {host}"
    except Exception as exc:  # any failure just means "not measured on PostgreSQL"
        return f"not reachable ({exc.__class__.__name__})"


def _git() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (rev or "unknown") + (" (with uncommitted changes)" if dirty else "")


def _cmd(run: Run) -> str:
    python, script, *args = run.command
    rel = Path(script).relative_to(ROOT) if Path(script).is_relative_to(ROOT) else Path(script)
    exe = Path(python)
    shown = exe.relative_to(ROOT) if exe.is_relative_to(ROOT) else exe
    return shlex.join([str(shown), rel.as_posix(), *args])


def _fmt_load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.2f}" for x in load)


def _output_md(text: str) -> list[str]:
    """Markdown tables as they are; every other run of lines in a ``text`` block."""
    out: list[str] = []
    plain: list[str] = []

    def flush() -> None:
        while plain and not plain[-1].strip():
            plain.pop()
        while plain and not plain[0].strip():
            plain.pop(0)
        if plain:
            out.extend(["", "```text", *plain, "```"])
        plain.clear()

    in_table = False
    for line in text.splitlines():
        if line.lstrip().startswith("|"):
            if not in_table:
                flush()
                out.append("")
                in_table = True
            out.append(line.strip())
        else:
            in_table = False
            plain.append(line.rstrip())
    flush()
    return out


def render(
    runs: Sequence[Run], info: dict[str, str], started: datetime, sizes: dict[str, list[str]]
) -> str:
    """RESULTS.md from the runs."""
    total = sum(r.seconds for r in runs)
    lines = [
        "# Benchmark results",
        "",
        f"Written by `make bench` (`bench/_run.py`) on {started:%Y-%m-%d %H:%M} UTC at commit "
        f"{_git()}; {len(runs)} scripts, {total / 60:.1f} min in all. Re-run `make bench` to "
        "refresh this file; do not edit it by hand. Each script's docstring says what it "
        "measures and how (median or best of repeated runs where it repeats).",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in info.items()),
        "",
        "The machine is shared: the load average (1 / 5 / 15 min) before each script is "
        "recorded with it; with a load above the core count, absolute times are inflated and "
        "ratios measured within one script are the figures to compare.",
        "",
        "## Runs and sizes",
        "",
        "| script | command | wall s | load before | status |",
        "|---|---|---:|---|---|",
    ]
    for r in runs:
        status = "ok" if r.returncode == 0 else f"**failed (exit {r.returncode})**"
        size = "" if r.script in sizes else " (script defaults)"
        lines.append(
            f"| [{r.script}](#{r.script.replace('.', '')}) | `{_cmd(r)}`{size} | "
            f"{r.seconds:.1f} | {_fmt_load(r.load_before)} | {status} |"
        )
    for r in runs:
        lines += ["", f"## {r.script}", ""]
        if r.purpose:
            lines += [r.purpose, ""]
        lines.append(
            f"`{_cmd(r)}` — {r.seconds:.1f} s, load average before {_fmt_load(r.load_before)}"
            + ("" if r.returncode == 0 else f"; **failed with exit status {r.returncode}**")
            + "."
        )
        lines += _output_md(r.output)
    return "\n".join(lines).rstrip() + "\n"


def run_all(
    bench: Path = BENCH,
    out: Path | None = None,
    sizes: dict[str, list[str]] | None = None,
    only: Sequence[str] = (),
    python: str = sys.executable,
    echo: Callable[[str], None] = print,
) -> list[Run]:
    """Run the scripts of ``bench`` and write ``out`` (default ``bench/RESULTS.md``)."""
    sizes = SIZES if sizes is None else sizes
    out = out or bench / "RESULTS.md"
    started = datetime.now(UTC)
    info = machine()
    runs = [
        run_script(s, sizes.get(s.name, []), python=python, echo=echo)
        for s in scripts(bench)
        if not only or s.name in only
    ]
    out.write_text(render(runs, info, started, sizes), encoding="utf-8")
    echo(f"wrote {out}")
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", default=(), help="script names, e.g. audit.py")
    parser.add_argument("--out", type=Path, default=None, help="default: bench/RESULTS.md")
    args = parser.parse_args()
    runs = run_all(out=args.out, only=args.only)
    return 0 if all(r.returncode == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
