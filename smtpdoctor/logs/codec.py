"""The enums of events as small integers, for what byte-range workers send back.

One table per enum, shared by the packed events (logs/parallel.py), the range folds
(logs/fold.py) and the per-message summaries (logs/joins.py), so the three cannot
disagree. Index -1 stands for None: the *_OR_NONE tuples end with it.
"""

from __future__ import annotations

from typing import Final

from smtpdoctor.catalogue import CauseCode
from smtpdoctor.logs.events import Status
from smtpdoctor.phases import Phase

STATUSES: Final = tuple(Status)
CAUSES: Final = tuple(CauseCode)
PHASES: Final = tuple(Phase)
STATUS_I: Final = {s: i for i, s in enumerate(STATUSES)}
CAUSE_I: Final = {c: i for i, c in enumerate(CAUSES)}
PHASE_I: Final = {p: i for i, p in enumerate(PHASES)}
CAUSES_OR_NONE: Final[tuple[CauseCode | None, ...]] = (*CAUSES, None)
PHASES_OR_NONE: Final[tuple[Phase | None, ...]] = (*PHASES, None)
