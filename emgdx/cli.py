"""The ``emgdx`` command: one entry point above both applications, one thin subcommand each.

Each subcommand is ``pipelines.<module>.main(argv)`` (the data scientists' stages) or
``app.serve.main`` (the clinicians' server); the module parses its own arguments, so
``emgdx <stage> ...`` and ``python -m pipelines.<stage> ...`` are the same. The modules are
imported only when their command runs (``emgdx validate`` never loads MLflow or FastAPI), and
neither application imports this one (``tests/test_layers.py``).

Exit status, for every command: 0 success (a valid bundle), 1 invalid input, 2 usage or internal
error. An internal error is one line on stderr (its type only: an exception's text may quote
patient values), except a :class:`models.errors.ReportedError` (a missing or invalid params
file or model, a feature mismatch, an unusable registry), whose message is printed; ``--debug`` (anywhere on the command line) shows the traceback instead.
"""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Sequence

from models.errors import ReportedError

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("pipelines.simulate", "write a simulated, labelled cohort as a study bundle"),
    "validate": ("pipelines.validate", "check a study bundle against the data contract"),
    "features": ("pipelines.featurize", "compute the per-study feature table of a bundle"),
    "split": ("pipelines.split", "patient-grouped train/validation/test and held-out-site splits"),
    "train": ("pipelines.train", "train LightGBM and the baselines, calibrate, log to MLflow"),
    "scope": ("pipelines.scope", "train the out-of-scope detector on simulated conditions"),
    "evaluate": ("pipelines.evaluate", "score models on the test and held-out-site splits"),
    "physiology": (
        "pipelines.physiology",
        "held-out physiology: train on part of the ranges, score on another",
    ),
    "clinical": ("pipelines.clinical", "grade the model on the textbook vignettes (clinical/)"),
    "register": (
        "pipelines.register",
        "register the model; move @champion under the rule, or --promote / --rollback",
    ),
    "report": ("pipelines.report", "write reports/summary.md, the headline table of a run"),
    "evalset": ("pipelines.evalset", "write a fixed, versioned evaluation set (once)"),
    "predict": ("pipelines.predict", "predict and explain every study of a bundle"),
    "serve": ("app.serve", "start the clinicians' web page and JSON API on 127.0.0.1"),
    "users": ("app.users", "add or list the web app's accounts (viewer, clinician, admin)"),
    "db": ("app.db.cli", "migrate the verdicts database (emgdx serve does it at start)"),
    "export-verdicts": (
        "app.db.export",
        "write the clinicians' latest verdicts as a labelled study bundle for training",
    ),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: emgdx <command> [options]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += [
        "",
        "Run 'emgdx <command> --help' for the options of one command; --debug shows tracebacks.",
        "Exit status: 0 success, 1 invalid input, 2 usage or internal error.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``emgdx <command> ...`` to the command's own ``main``."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    if not args or args[0] in {"-h", "--help", "help"}:
        sys.stdout.write(_usage() + "\n")
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        sys.stderr.write(f"emgdx: unknown command {name!r}.\n\n{_usage()}\n")
        return 2
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        module = importlib.import_module(COMMANDS[name][0])
        return int(module.main(rest))
    except (SystemExit, KeyboardInterrupt):
        raise
    except ReportedError as exc:  # its message names files, keys and features, no patient value
        if debug:
            raise
        sys.stderr.write(f"emgdx {name}: {exc}\n")
        return 2
    except Exception as exc:
        if debug:
            raise
        sys.stderr.write(
            f"emgdx {name}: internal error ({type(exc).__name__}). Run again with --debug for "
            "the traceback, and report it.\n"
        )
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
