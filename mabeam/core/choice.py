"""A node's own nondeterministic choice: pick a value, start a ballot, vote to abort.

Some protocol steps are taken by a node on its own, with no message to
trigger them: a resource manager decides to prepare or to abort, a candidate
starts an election. :func:`choose` offers such a choice from inside any
handler; the node's :meth:`~mabeam.core.protocol.Protocol.on_choice` handler is
then called with the option taken, and the options not taken are withdrawn.

What each driver does with it:

- the **model checker** explores every option, in every interleaving with the
  other enabled actions (an offered option is an enabled action of the node);
  the choice is weakly fair: a node that keeps offering it eventually takes
  one of its options;
- the **live drivers** (simulator, runtime) take the preferred option
  (``prefer``, default the first) ``after`` time units after the offer.

Why this is built on timers: a choice must be part of the checked state and
compose with the one effect interpreter every driver shares. Each option is a
timer whose name carries the label, the option and its siblings (see
:class:`Choice`), so no driver needs to know about choices, while protocols
never write a fake timer with a meaningless delay. Traces render the timer as
"``a0`` chooses ``vote=abort``".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from .effects import CancelTimer, SetTimer
from .errors import ConfigurationError

#: how every choice timer's name starts
PREFIX = "choose:"
#: live drivers arm the options not preferred this much later; taking the preferred one withdraws them first
LATER = 1_000_000.0

_WORD = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@dataclass(frozen=True)
class Choice:
    """One option of an offered choice: ``label`` (what is chosen), ``option`` and every option offered."""

    label: str
    option: str
    options: tuple[str, ...]

    @property
    def timer(self) -> str:
        """The timer name that stands for this option: ``choose:<label>=<option>|<o1>,<o2>,...``."""
        return f"{PREFIX}{self.label}={self.option}|{','.join(self.options)}"

    def siblings(self) -> tuple[Choice, ...]:
        """The other options of the same offer (withdrawn once this one is taken)."""
        return tuple(Choice(self.label, o, self.options) for o in self.options if o != self.option)

    def describe(self) -> str:
        return f"{self.label}={self.option}"


def _options(label: str, options: Sequence[str]) -> tuple[str, ...]:
    if not isinstance(label, str) or not _WORD.match(label):
        raise ConfigurationError(f"a choice label is 1-64 letters, digits, '_', '.' or '-', got {label!r}")
    if isinstance(options, str):
        raise ConfigurationError(f"choice {label!r}: give the options as a sequence, not the string {options!r}")
    found = tuple(options)
    if not found:
        raise ConfigurationError(f"choice {label!r} offers no option")
    for option in found:
        if not isinstance(option, str) or not _WORD.match(option):
            raise ConfigurationError(f"choice {label!r}: an option is 1-64 letters, digits, '_', '.' or '-', "
                                     f"got {option!r}")
    if len(set(found)) != len(found):
        raise ConfigurationError(f"choice {label!r} offers an option twice: {list(found)}")
    return found


def choose(label: str, options: Sequence[str], *, prefer: str | None = None, after: float = 0.0
           ) -> tuple[SetTimer, ...]:
    """The effects that offer a choice of one of ``options`` (return them from a handler).

    The model checker explores every option; live drivers take ``prefer`` (default:
    the first option) ``after`` time units from now. Offering the same label again
    replaces the offer.
    """
    found = _options(label, options)
    preferred = found[0] if prefer is None else prefer
    if preferred not in found:
        raise ConfigurationError(f"choice {label!r}: preferred option {preferred!r} is not among {list(found)}")
    if isinstance(after, bool) or not isinstance(after, (int, float)) or not 0 <= after < LATER:
        raise ConfigurationError(f"choice {label!r}: after must be a time in [0, {LATER:g}), got {after!r}")
    return tuple(SetTimer(Choice(label, o, found).timer, float(after) if o == preferred else float(after) + LATER)
                 for o in found)


def withdraw(label: str, options: Sequence[str]) -> tuple[CancelTimer, ...]:
    """The effects that withdraw an offered choice (e.g. a message made it moot)."""
    found = _options(label, options)
    return tuple(CancelTimer(Choice(label, o, found).timer) for o in found)


def parse_choice(timer: str) -> Choice | None:
    """The :class:`Choice` a timer name stands for, or ``None`` for an ordinary timer."""
    if not timer.startswith(PREFIX):
        return None
    head, sep, rest = timer[len(PREFIX):].partition("|")
    label, eq, option = head.partition("=")
    if not sep or not eq:
        return None
    options = tuple(rest.split(","))
    if option not in options:
        return None
    return Choice(label, option, options)
