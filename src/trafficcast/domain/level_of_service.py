"""Level of service A-F from speed relative to free-flow speed.

Detectors here report speed, not density, so the grade follows the HCM
urban-street scheme (share of base free-flow speed): A > 85 %, B > 67 %,
C > 50 %, D > 40 %, E > 30 %, F otherwise. E and F count as congested.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

GRADES = np.array(["A", "B", "C", "D", "E", "F"])
_LOWER_BOUNDS = np.array([0.85, 0.67, 0.50, 0.40, 0.30])
DEFAULT_FREE_FLOW_MPH = 65.0


def level_of_service(
    speed: npt.NDArray[np.float64], free_flow: npt.NDArray[np.float64]
) -> npt.NDArray[np.str_]:
    ff = np.where(np.isfinite(free_flow) & (free_flow > 0), free_flow, DEFAULT_FREE_FLOW_MPH)
    ratio = np.asarray(speed, dtype=np.float64) / ff
    # Count how many lower bounds the ratio fails to exceed: 0 -> A ... 5 -> F.
    grade = (ratio[:, None] <= _LOWER_BOUNDS[None, :]).sum(axis=1)
    result: npt.NDArray[np.str_] = GRADES[grade]
    return result
