"""The errors emgdx reports to its user as one line: their messages are safe to print.

A message of these types names files, fields, features, settings and registry versions, never a
value from a patient's study, so the ``emgdx`` dispatcher, ``emgdx predict`` and ``emgdx serve``
show it as it is (other exceptions are reported by their type only, as their text may quote
patient values).
"""

from __future__ import annotations


class ReportedError(Exception):
    """Base of the errors whose message is shown to the user as it is (no patient values)."""
