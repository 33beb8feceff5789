"""Start-up stays light: the CLI, the consent ledger and the gateway import neither the data
stack (pandas, Ibis, DuckDB) nor spend an Argon2 hash before they are asked to. Each was once
paid by every `trustcart` command and server worker (≈ 3 s of CPU per `trustcart --help`)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "ibis", "duckdb", "pyarrow", "lightgbm", "sklearn")


def _loaded_after(module: str) -> dict[str, object]:
    code = (
        "import sys, json, argon2\n"
        "calls = []\n"
        "real = argon2.PasswordHasher.hash\n"
        "def counted(self, *a, **k):\n"
        "    calls.append(1)\n"
        "    return real(self, *a, **k)\n"
        "argon2.PasswordHasher.hash = counted\n"
        f"import {module}\n"
        f"print(json.dumps({{'heavy': [m for m in {HEAVY!r} if m in sys.modules],"
        " 'hashes': len(calls)}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "module", ["trustcart.cli", "trustcart.consent", "trustcart.privacy", "trustcart.governance"]
)
def test_importing_loads_no_data_stack_and_hashes_nothing(module: str) -> None:
    got = _loaded_after(module)
    assert got == {"heavy": [], "hashes": 0}


def test_the_lazy_privacy_names_still_resolve() -> None:
    import trustcart.privacy as privacy

    for name in privacy.__all__:
        assert getattr(privacy, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = privacy.nope  # type: ignore[attr-defined]
