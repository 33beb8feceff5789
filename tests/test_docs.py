"""The documentation: the site builds without a warning, generated pages are fresh, the
architecture page covers every package, and the benchmark runner writes RESULTS.md.

No benchmark is run here: the runner is checked on tiny fake scripts.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SRC = ROOT / "src" / "trustcart"


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


gen = _load(ROOT / "scripts" / "gen_reference.py", "_tc_gen_reference")
bench_run = _load(ROOT / "bench" / "_run.py", "_tc_bench_run")


def test_mkdocs_build_strict_has_no_warning(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log
    assert "WARNING" not in log, log
    site = tmp_path / "site"
    for page in ("index", "getting-started", "concepts", "faq", "architecture", "cli", "http"):
        assert (site / f"{page}.html").is_file(), page
    # the manifest format page comes from examples/README.md through the hook
    assert "The manifest format" in (site / "examples" / "index.html").read_text()
    assert (site / "examples" / "shop.yaml").read_text() == (
        ROOT / "examples" / "shop.yaml"
    ).read_text()


def _nav_files(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [f for v in node.values() for f in _nav_files(v)]
    if isinstance(node, list):
        return [f for v in node for f in _nav_files(v)]
    return []


def test_every_docs_page_is_in_the_nav() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = set(_nav_files(config["nav"]))
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert pages - nav == set()
    assert nav - pages == {"examples/README.md"}


def test_generated_reference_pages_are_fresh() -> None:
    stale = [
        path.relative_to(ROOT).as_posix()
        for path, text in gen.generate().items()
        if path.read_text(encoding="utf-8") != text
    ]
    assert stale == [], f"stale: {stale}; run `make reference`"


def test_cli_reference_lists_every_command() -> None:
    import typer.main

    from trustcart.cli import app

    text = (DOCS / "cli.md").read_text()

    def walk(cmd: object, path: list[str]) -> list[list[str]]:
        subs = getattr(cmd, "commands", {}) or {}
        return [path] + [p for n, c in subs.items() for p in walk(c, [*path, n])]

    paths = walk(typer.main.get_command(app), ["trustcart"])
    assert len(paths) > 50
    for path in paths:
        assert f"## `{' '.join(path)}`" in text, path
    assert "`-w, --workspace <path>`" in text  # an option of the root, with its help
    assert "Record a consent choice in the ledger" in text


def test_http_reference_lists_every_route_with_its_scope() -> None:
    from trustcart.api.auth import SCOPE_EXTRA

    text = (DOCS / "http.md").read_text()
    spec = gen.openapi_document()
    n = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            scope = f"`{op[SCOPE_EXTRA]}`" if SCOPE_EXTRA in op else "*public*"
            assert f"| {method.upper()} | [`{path}`]" in text, (method, path)
            row = next(ln for ln in text.splitlines() if f"| {method.upper()} | [`{path}`]" in ln)
            assert f"| {scope} |" in row, row
            n += 1
    assert n >= 40
    assert "| POST | [`/v1/rights/requests`](#post-v1rightsrequests) | `rights:write` |" in text


def test_architecture_mentions_every_package_and_module() -> None:
    text = (DOCS / "architecture.md").read_text()
    for init in SRC.rglob("__init__.py"):
        if init.parent != SRC:
            assert f"`{init.parent.relative_to(SRC).as_posix()}/`" in text, init.parent
    for mod in SRC.glob("*.py"):
        if mod.name != "__init__.py":
            assert f"`{mod.name}`" in text, mod


def test_new_pages_are_linked_from_index_and_readme() -> None:
    index = (DOCS / "index.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for page in ("getting-started", "concepts", "faq", "architecture", "cli", "http"):
        assert f"]({page}.md)" in index, page
        assert f"](docs/{page}.md)" in readme, page
    assert "make docs" in readme and "site/index.html" in readme


def test_getting_started_walks_through_every_demo_step() -> None:
    """The page tells the demo step by step: every step the demo prints is named there."""
    import ast

    tree = ast.parse((SRC / "demo" / "__init__.py").read_text())
    steps = [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "step"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ]
    assert len(steps) >= 10
    page = (DOCS / "getting-started.md").read_text()
    missing = [s for s in steps if f"**{s}**" not in page]
    assert missing == [], f"demo steps not described in docs/getting-started.md: {missing}"


# --- the benchmark runner (bench/_run.py), on fake scripts ----------------------------------


def test_bench_runner_writes_results_md(tmp_path: Path) -> None:
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "fast.py").write_text(
        textwrap.dedent(
            '''
            """Fake benchmark: squares vs a peer."""
            import sys
            n = int(sys.argv[1])
            print(f"sized {n}")
            print("| n | square | ratio |")
            print("|---|---|---|")
            print(f"| {n} | {n * n} | 2.00x |")
            '''
        )
    )
    (bench / "broken.py").write_text("import sys\nprint('partial line')\nsys.exit(3)\n")
    (bench / "_helper.py").write_text("raise SystemExit('helpers are not benchmarks')\n")
    out = tmp_path / "RESULTS.md"
    echoed: list[str] = []
    runs = bench_run.run_all(bench, out, sizes={"fast.py": ["7"]}, echo=echoed.append)

    assert [r.script for r in runs] == ["broken.py", "fast.py"]
    assert [r.returncode for r in runs] == [3, 0]
    assert "| 7 | 49 | 2.00x |" in echoed  # shown live
    text = out.read_text()
    # the table as printed, the plain lines fenced, the command with its size arguments
    assert "\n| n | square | ratio |\n|---|---|---|\n| 7 | 49 | 2.00x |\n" in text
    assert "```text\nsized 7\n```" in text
    assert "bench/fast.py 7`" in text.replace(str(tmp_path) + "/", "")
    assert "Fake benchmark: squares vs a peer." in text
    assert "(script defaults)" in text  # broken.py had no sizes
    assert "**failed (exit 3)**" in text and "partial line" in text
    assert "helpers are not benchmarks" not in text
    # the machine, from the machine itself, and the date
    assert f"{os.cpu_count()} logical cores" in text
    for key in ("| CPU |", "| memory |", "| OS |", "| Python |", "| libraries |"):
        assert key in text, key
    assert sys.version.split()[0] in text
    assert "Written by `make bench`" in text and " UTC " in text


def test_bench_sizes_name_existing_scripts() -> None:
    names = {p.name for p in bench_run.scripts()}
    assert set(bench_run.SIZES) <= names
    assert "_run.py" not in names
