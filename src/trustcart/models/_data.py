"""Helpers shared by the reference models: training-data fingerprints and input rows."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


def training_sha256(df: pd.DataFrame) -> str:
    """sha256 of a training frame (column names, dtypes and every value, row order included),
    recorded in the model registry so a model version can be traced to its data."""
    h = hashlib.sha256()
    h.update("\x1f".join(f"{c}:{df[c].dtype}" for c in df.columns).encode())
    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def check_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    """A clear error naming the columns a frame lacks."""
    absent = [c for c in columns if c not in df.columns]
    if absent:
        raise ValueError(
            f"training data lacks column(s) {', '.join(absent)}; it has {', '.join(df.columns)}"
        )


def row(features: Mapping[str, Any], names: Sequence[str]) -> np.ndarray:
    """One input row in model order; an absent feature is NaN."""
    return np.array(
        [[np.nan if features.get(n) is None else float(features[n]) for n in names]],
        dtype=np.float64,
    )
