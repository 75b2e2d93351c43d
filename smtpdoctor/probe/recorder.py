"""Collects a session's phases and transcript with times relative to its start."""

from __future__ import annotations

import time

from smtpdoctor.net.outcome import NetOp
from smtpdoctor.phases import Phase
from smtpdoctor.probe.results import (
    Direction,
    PartialReply,
    PhaseResult,
    PhaseStatus,
    Requirement,
    TranscriptLine,
)
from smtpdoctor.proto.reply import Reply

# A hostile server could make the transcript itself large (a flood of short replies
# within the budget); keep the first lines and say how many were dropped.
MAX_TRANSCRIPT_LINES = 400


class Recorder:
    """Phase timings and transcript lines of one session."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self.phases: list[PhaseResult] = []
        self.transcript: list[TranscriptLine] = []
        self.notes: list[str] = []
        self._dropped_lines = 0

    def now_ms(self) -> float:
        """Milliseconds since the session started."""
        return (time.monotonic() - self._start) * 1000.0

    def line(self, direction: Direction, text: str) -> None:
        """Add a transcript line (already redacted by the caller)."""
        if len(self.transcript) >= MAX_TRANSCRIPT_LINES:
            self._dropped_lines += 1
            return
        self.transcript.append(TranscriptLine(round(self.now_ms(), 1), direction, text[:512]))

    def reply(self, reply: Reply) -> None:
        """Add every line of a server reply."""
        for wire in reply.wire_lines():
            self.line(Direction.SERVER, wire)

    def note(self, text: str) -> None:
        """A remark of the probe's own, in the transcript and the notes."""
        self.notes.append(text)
        self.line(Direction.NOTE, text)

    def phase(
        self,
        phase: Phase,
        status: PhaseStatus,
        started_ms: float,
        *,
        reply: Reply | None = None,
        detail: str = "",
        errno_name: str | None = None,
        budget_exhausted: bool = False,
        limit_s: float | None = None,
        operation: NetOp | None = None,
        required_by: Requirement | None = None,
        retransmits: int | None = None,
        partial: PartialReply | None = None,
    ) -> PhaseResult:
        """Record how a phase ended; returns the record."""
        result = PhaseResult(
            phase=phase,
            status=status,
            elapsed_ms=round(self.now_ms() - started_ms, 1),
            reply=reply,
            detail=detail,
            errno_name=errno_name,
            budget_exhausted=budget_exhausted,
            limit_s=round(limit_s, 3) if limit_s is not None else None,
            operation=operation,
            required_by=required_by,
            retransmits=retransmits,
            partial=partial,
        )
        self.phases.append(result)
        return result

    def finish_transcript(self) -> tuple[TranscriptLine, ...]:
        """The transcript, with a closing note if lines were dropped."""
        lines = list(self.transcript)
        if self._dropped_lines:
            lines.append(
                TranscriptLine(
                    round(self.now_ms(), 1),
                    Direction.NOTE,
                    f"{self._dropped_lines} more lines not recorded",
                )
            )
        return tuple(lines)
