"""The errors emgdx reports to its user as one line: their messages are safe to print.

A message of these types names files, fields, features, settings and registry versions, never a
value from a patient's study, so the ``emgdx`` dispatcher, ``emgdx predict`` and ``emgdx serve``
show it as it is (other exceptions are reported by their type only, as their text may quote
patient values).
"""

from __future__ import annotations

from pydantic import ValidationError


class ReportedError(Exception):
    """Base of the errors whose message is shown to the user as it is (no patient values)."""


def validation_lines(source: object, exc: ValidationError) -> list[str]:
    """One line per pydantic error: the file, the dotted key, the value given, the expectation.

    ``params.yaml: train.num_leaves = 'many': expected a valid integer, ...``;
    ``model.json: calibration: missing``; ``... train.num_leafs: unknown key``.
    """
    lines = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"])
        if not err["loc"]:
            lines.append(f"{source}: {_expected(err['msg'])}")
        elif err["type"] == "extra_forbidden":
            lines.append(f"{source}: {key}: unknown key (misspelt?)")
        elif err["type"] == "missing":
            lines.append(f"{source}: {key}: missing")
        else:
            value = repr(err.get("input"))
            value = value if len(value) <= 60 else value[:57] + "..."
            said = _expected(err["msg"])
            if err["type"] != "value_error" or not said.startswith(("expected", "model.json")):
                said = f"expected {said}"
            lines.append(f"{source}: {key} = {value}: {said}")
    return lines


def _expected(msg: str) -> str:
    """pydantic's ``Input should be a valid integer`` -> ``a valid integer``."""
    for prefix in ("Input should be ", "Value error, "):
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg
