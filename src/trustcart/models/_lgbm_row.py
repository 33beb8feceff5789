"""One-row LightGBM predictions through the library's "fast single row" C entry point.

Why: the gateway predicts one row per decision. ``Booster.predict`` is built for matrices: per
call it builds a predictor object, converts and validates the array and asks the library for
the output size, about 20 µs of Python for a model that answers in 1–2 µs. LightGBM's C API has
an entry point for exactly this case, ``LGBM_BoosterPredictForMatSingleRowFast``, which reuses
a configuration prepared once (``…FastInit``). The Python package does not wrap it, so this
module calls it through the same ``ctypes`` handle the package uses (``lightgbm.basic._LIB``).

The answer is the library's own (same trees, same code path as ``predict_type`` normal);
``tests/test_models.py`` checks it equals ``Booster.predict`` on random rows with missing
values. If the entry point is missing (another LightGBM build), :func:`fast_row_predictor`
returns None and the caller keeps ``Booster.predict``.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Sequence
from typing import Any

import lightgbm as lgb
import numpy as np

_INIT: Any = None
_PREDICT: Any = None
_FREE: Any = None
try:  # private to the lightgbm package; checked, never assumed
    from lightgbm import basic as _basic

    _lib: Any = getattr(_basic, "_LIB")  # noqa: B009  (not in the package's stubs)
    _safe_call: Any = getattr(_basic, "_safe_call")  # noqa: B009
    _INIT = _lib.LGBM_BoosterPredictForMatSingleRowFastInit
    _PREDICT = _lib.LGBM_BoosterPredictForMatSingleRowFast
    _FREE = _lib.LGBM_FastConfigFree
except AttributeError:  # pragma: no cover - other LightGBM builds
    _INIT = None

_PREDICT_NORMAL = 0  # C_API_PREDICT_NORMAL
_FLOAT64 = 1  # C_API_DTYPE_FLOAT64


class FastRowPredictor:
    """``predict(values) -> float`` for one row of ``ncol`` float64 values (NaN = missing).

    Thread-safe: the prepared configuration and the buffers are shared, so calls are
    serialised by a lock (the C call itself takes about a microsecond).
    """

    def __init__(self, booster: lgb.Booster, ncol: int) -> None:
        if _INIT is None:
            raise RuntimeError("this LightGBM build has no single-row fast prediction")
        self._booster = booster  # keeps the model alive as long as the configuration
        self._config = ctypes.c_void_p()
        _safe_call(
            _INIT(
                booster._handle,
                ctypes.c_int(_PREDICT_NORMAL),
                ctypes.c_int(0),  # start iteration
                # as Booster.predict: the best iteration if early stopping recorded one (0 = all)
                ctypes.c_int(booster.best_iteration),
                ctypes.c_int(_FLOAT64),
                ctypes.c_int32(ncol),
                ctypes.c_char_p(b"num_threads=1"),
                ctypes.byref(self._config),
            )
        )
        self.ncol = ncol
        self._row = np.zeros(ncol, dtype=np.float64)
        self._out = np.zeros(1, dtype=np.float64)
        self._row_ptr = self._row.ctypes.data_as(ctypes.c_void_p)
        self._out_ptr = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        self._out_len = ctypes.c_int64(0)
        self._lock = threading.Lock()

    def predict(self, values: Sequence[float]) -> float:
        """The model's output for ``values`` (in the booster's feature order)."""
        if len(values) != self.ncol:
            raise ValueError(f"expected {self.ncol} values, got {len(values)}")
        with self._lock:
            self._row[:] = values
            _safe_call(
                _PREDICT(self._config, self._row_ptr, ctypes.byref(self._out_len), self._out_ptr)
            )
            return float(self._out[0])

    def __del__(self) -> None:
        config = getattr(self, "_config", None)
        if _FREE is not None and config is not None and config.value:
            _FREE(config)


def fast_row_predictor(booster: lgb.Booster, ncol: int) -> FastRowPredictor | None:
    """A :class:`FastRowPredictor` for ``booster``, or None where the entry point is missing
    or refuses the model (the caller then keeps ``Booster.predict``)."""
    if _INIT is None:
        return None
    try:
        return FastRowPredictor(booster, ncol)
    except lgb.basic.LightGBMError:
        return None
