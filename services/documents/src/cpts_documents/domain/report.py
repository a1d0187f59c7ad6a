"""Validation reports: every problem found in a document, with its line and column.

Lists are capped (``max_listed``) so that a file with a million bad lines yields a bounded
report; the counts stay exact. Quirks that repeat on many lines (a trailing separator, an
empty amount read as zero) are aggregated into one warning naming the first line and the count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cpts_documents.domain.types import Verdict


@dataclass(frozen=True, slots=True)
class Issue:
    line: int  # 1-based; 0 for the whole file
    column: str | None  # the column name, when the issue is about one field
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "code": self.code, "message": self.message}


@dataclass
class Report:
    max_listed: int = 1000
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    error_count: int = 0
    warning_count: int = 0
    _quirks: dict[str, tuple[int, str | None, str, int]] = field(default_factory=dict)

    def error(self, line: int, column: str | None, code: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < self.max_listed:
            self.errors.append(Issue(line, column, code, message))

    def warning(self, line: int, column: str | None, code: str, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < self.max_listed:
            self.warnings.append(Issue(line, column, code, message))

    def quirk(self, line: int, column: str | None, code: str, message: str) -> None:
        """A harmless repeated quirk: one warning for the file, with the first line and a count."""
        seen = self._quirks.get(code)
        if seen is None:
            self._quirks[code] = (line, column, message, 1)
        else:
            self._quirks[code] = (seen[0], seen[1], seen[2], seen[3] + 1)

    def finish(self) -> None:
        """Turn the aggregated quirks into warnings (call once, at the end)."""
        for code, (line, column, message, count) in self._quirks.items():
            suffix = f" ({count} lines, first at line {line})" if count > 1 else ""
            self.warning(line, column, code, message + suffix)
        self._quirks.clear()
        self.errors.sort(key=lambda i: i.line)
        self.warnings.sort(key=lambda i: i.line)

    @property
    def verdict(self) -> Verdict:
        if self.error_count:
            return Verdict.REJECTED
        return Verdict.ACCEPTED_WITH_WARNINGS if self.warning_count else Verdict.ACCEPTED

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "errors": [i.as_dict() for i in self.errors],
            "warnings": [i.as_dict() for i in self.warnings],
            "error_count": self.error_count,
            "warning_count": self.warning_count,
        }
