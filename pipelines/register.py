"""``emgdx register``: register the model; move ``@champion`` under the rule, or by a person.

Three forms:

``emgdx register --model data/model --evalset evalsets/v1 [--vignettes clinical]``
    Logs the pyfunc model to the MLflow run that trained it (:mod:`models.provenance`) and
    registers a version under ``register.model_name``. Then scores the new version *and* the
    current ``@champion`` (downloaded from the registry) on the same fixed evaluation set
    (:mod:`models.evalset`) and clinical vignettes, and moves the alias only under the champion
    rule (:mod:`models.champion`: a margin on the evaluation set's training labs, no loss
    beyond a tolerance on its held-out lab or on the vignettes). The candidate's scores and the
    evaluation set's version go to ``reports/evalset.json`` (a DVC output: the same on every
    machine); the decision — registry version, previous champion, reasons — depends on this
    machine's registry, so it goes to ``reports/register.json`` (git-ignored, no DVC output),
    the log and the version's tags.
``emgdx register --promote VERSION --reason TEXT [--by NAME]``
    A person makes ``VERSION`` the champion, whatever the rule says; recorded with who and why.
``emgdx register --rollback --reason TEXT [--by NAME]``
    Back to the champion before the current one (the registered model's champion history).

A locked or corrupt MLflow store is a :class:`models.tracking.RegistryError` (one line, exit
2 through ``emgdx``), never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from models import tracking
from models.artifact import FeatureMismatchError, ModelArtifactError, read_meta
from models.champion import Decision, Rule, Scores, decide
from models.errors import ReportedError
from models.provenance import training_run_id
from models.summary import version_label
from pipelines.config import RegisterParams, load_params

logger = logging.getLogger(__name__)

#: registered-model tag holding the champion history (JSON list, oldest first)
HISTORY_TAG = "champion_history"
EVALSET_TAG = "evalset"
METRIC_TAG = "evalset_macro_f1"
HELDOUT_TAG = "evalset_heldout_macro_f1"
VIGNETTES_TAG = "vignettes_passed"
DECISION_TAG = "champion_decision"
#: the model's content version (``model.json: version``) beside the registry's number
MODEL_VERSION_TAG = "model_version"


class RegisterError(ReportedError, ValueError):
    """A promotion or rollback that cannot be done (unknown version, no previous champion)."""


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="emgdx register", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--model", type=Path, help="model directory to register")
    action.add_argument("--promote", metavar="VERSION", help="make this version the champion")
    action.add_argument("--rollback", action="store_true", help="return to the previous champion")
    parser.add_argument("--evalset", type=Path, default=Path("evalsets/v1"), help="eval set")
    parser.add_argument(
        "--vignettes", type=Path, default=Path("clinical"), help="clinical vignettes folder"
    )
    parser.add_argument("--metrics", type=Path, default=None, help="metrics.json (recorded)")
    parser.add_argument(
        "--scores",
        type=Path,
        default=Path("reports/evalset.json"),
        help="the candidate's evaluation-set scores (JSON, the same on every machine)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=Path("reports/register.json"),
        help="the decision against this machine's registry (JSON, local)",
    )
    parser.add_argument("--params", type=Path, default=Path("params.yaml"), help="params file")
    parser.add_argument("--reason", default=None, help="why (required with --promote/--rollback)")
    parser.add_argument("--by", default=None, help="who decides (default: the login name)")
    args = parser.parse_args(argv)
    if (args.promote or args.rollback) and not args.reason:
        parser.error("--promote and --rollback need --reason")
    return args


def lookup(doc: Mapping[str, Any], dotted: str) -> float:
    """``lookup({"valid": {"lightgbm": {"macro_f1": .9}}}, "valid.lightgbm.macro_f1") == .9``."""
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise KeyError(f"metrics.json has no {dotted!r} (missing {part!r})")
        node = node[part]
    return float(node)


# --- the champion history -------------------------------------------------------------------
def champion_history(client: Any, name: str) -> list[dict[str, str]]:
    """The registered model's champion history, oldest first ([] when none)."""
    with tracking.store_errors():
        tags = client.get_registered_model(name).tags
    raw = tags.get(HISTORY_TAG)
    if not raw:
        return []
    try:
        history = json.loads(raw)
    except json.JSONDecodeError:
        raise RegisterError(f"registered model {name}: tag {HISTORY_TAG} is not JSON") from None
    return [dict(entry) for entry in history]


def set_champion(
    client: Any, p: RegisterParams, version: str, *, by: str, action: str, reason: str
) -> None:
    """Point ``@alias`` at ``version`` and append the move to the history and its tags."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    entry = {"version": version, "action": action, "by": by, "utc": now, "reason": reason}
    history = [*champion_history(client, p.model_name), entry]
    with tracking.store_errors():
        client.set_registered_model_alias(p.model_name, p.alias, version)
        # MLflow tags hold 5000 characters: keep the newest moves
        text = json.dumps(history)
        while len(text) > 5000 and len(history) > 1:
            history = history[1:]
            text = json.dumps(history)
        client.set_registered_model_tag(p.model_name, HISTORY_TAG, text)
        client.set_model_version_tag(p.model_name, version, f"{action}_by", by)
        client.set_model_version_tag(p.model_name, version, f"{action}_utc", now)
        client.set_model_version_tag(p.model_name, version, f"{action}_reason", reason[:4000])


# --- scoring --------------------------------------------------------------------------------
def champion_scores(
    p: RegisterParams, version: str, evalset: Any, features: Any, vignettes: Any
) -> tuple[Scores | None, str | None]:
    """Score the current champion on the evaluation set; ``(None, why)`` when it cannot be.

    A champion saved by another emgdx (another artifact schema or feature code) cannot be
    scored by this one; the rule then does not promote, and a person decides
    (``--promote``).
    """
    from models.evalset import score_model
    from models.predictor import Predictor

    try:
        champion = Predictor.load(f"models:/{p.model_name}/{version}")
        return score_model(champion, evalset, features=features, vignettes=vignettes), None
    except (ModelArtifactError, FeatureMismatchError) as exc:
        first = str(exc).splitlines()[0]
        return None, f"current champion v{version} cannot be scored by this emgdx ({first})"


def decide_against(
    candidate: Scores, champion: Scores | None, holder: str | None, why_not: str | None, rule: Rule
) -> Decision:
    """The champion rule, plus: an unscorable champion is kept (a person decides)."""
    if holder is not None and champion is None:
        return Decision(
            False,
            (
                why_not or f"current champion v{holder} has no scores",
                "not promoted automatically: `emgdx register --promote VERSION --reason ...` "
                "after checking the model",
            ),
        )
    return decide(candidate, champion, rule)


def _register_new(args: argparse.Namespace, p: RegisterParams) -> int:
    from mlflow import MlflowClient

    from models.clinical import load_expectations, load_vignettes
    from models.evalset import load_evalset, score_model
    from models.predictor import Predictor
    from models.pyfunc import log_pyfunc_model

    meta = read_meta(args.model)
    evalset = load_evalset(args.evalset)
    vignettes = (
        load_vignettes(args.vignettes / "vignettes"),
        load_expectations(args.vignettes / "expectations.csv"),
    )
    candidate_model = Predictor.from_dir(args.model)
    features = candidate_model.feature_frame(evalset.bundle)
    candidate = score_model(candidate_model, evalset, features=features, vignettes=vignettes)
    _write_json(
        args.scores,
        {"evalset": evalset.label, "model_version": meta.version, **_rounded(asdict(candidate))},
    )

    tracking.configure()
    client = MlflowClient()
    holder_mv = tracking.alias_version(client, p.model_name, p.alias)
    holder = str(holder_mv.version) if holder_mv is not None else None
    champion, why_not = (None, None)
    if holder is not None:
        champion, why_not = champion_scores(p, holder, evalset, features, vignettes)

    run_id = training_run_id(args.model)
    with tracking.start_run(run_id=run_id) if run_id else _new_run(meta):
        with tracking.store_errors():
            info = log_pyfunc_model(args.model, name="model", registered_model_name=p.model_name)
    version = str(info.registered_model_version)
    rule = Rule(p.min_gain, p.max_heldout_drop, p.max_vignette_drop)
    decision = decide_against(candidate, champion, holder, why_not, rule)
    tags = {
        EVALSET_TAG: evalset.label,
        METRIC_TAG: f"{candidate.metric:.6f}",
        DECISION_TAG: "; ".join(decision.reasons)[:5000],
        MODEL_VERSION_TAG: meta.version,
    }
    if candidate.heldout is not None:
        tags[HELDOUT_TAG] = f"{candidate.heldout:.6f}"
    if candidate.vignettes_passed is not None:
        tags[VIGNETTES_TAG] = str(candidate.vignettes_passed)
    validation = None
    if args.metrics is not None and p.metric:
        validation = lookup(json.loads(args.metrics.read_text(encoding="utf-8")), p.metric)
        tags["validation_metric"] = f"{validation:.6f}"
    with tracking.store_errors():
        for key, value in tags.items():
            client.set_model_version_tag(p.model_name, version, key, value)
    if decision.promote:
        set_champion(
            client, p, version, by="champion rule", action="promoted",
            reason="; ".join(decision.reasons),
        )  # fmt: skip
    report = {
        "model_name": p.model_name,
        "version": version,
        "model_version": meta.version,
        "champion": decision.promote,
        "reasons": list(decision.reasons),
        "evalset": evalset.label,
        "candidate": _rounded(asdict(candidate)),
        "previous_champion": holder,
        "previous_champion_scores": _rounded(asdict(champion)) if champion else None,
        "rule": asdict(rule),
        "validation_metric": {p.metric: round(validation, 6)} if validation is not None else None,
        "model_uri": info.model_uri,
        "mlflow_run_id": run_id,
    }
    _write_json(args.report, report)
    logger.info(
        "register: %s %s on evalset %s (macro-F1 %.4f) %s",
        p.model_name,
        version_label(version, meta.version),
        evalset.label,
        candidate.metric,
        f"is now @{p.alias}" if decision.promote else f"stays behind @{p.alias} v{holder}",
    )
    logger.info("register: %s", "; ".join(decision.reasons))
    return 0


def _write_json(path: Path, doc: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def _new_run(meta: Any) -> Any:
    return tracking.start_run(stage="register", params=None, description=(
        f"emgdx register: model {meta.version} trained outside MLflow"))  # fmt: skip


def _rounded(scores: Mapping[str, Any]) -> dict[str, Any]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in scores.items()}


def _promote(args: argparse.Namespace, p: RegisterParams) -> int:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    tracking.configure()
    client = MlflowClient()
    version = str(args.promote)
    try:
        with tracking.store_errors():
            client.get_model_version(p.model_name, version)
    except MlflowException:
        raise RegisterError(f"registered model {p.model_name} has no version {version}") from None
    by = args.by or getpass.getuser()
    set_champion(client, p, version, by=by, action="promoted", reason=args.reason)
    logger.info("register: %s version %s is now @%s (promoted by %s: %s)",
                p.model_name, version, p.alias, by, args.reason)  # fmt: skip
    return 0


def champion_stack(history: Sequence[Mapping[str, str]]) -> list[str]:
    """Replay the history: a promotion pushes its version, a rollback pops the top one."""
    stack: list[str] = []
    for entry in history:
        if entry.get("action") == "rolled_back":
            if stack:
                stack.pop()
        else:
            stack.append(str(entry["version"]))
    return stack


def _rollback(args: argparse.Namespace, p: RegisterParams) -> int:
    from mlflow import MlflowClient

    tracking.configure()
    client = MlflowClient()
    current = tracking.alias_version(client, p.model_name, p.alias)
    if current is None:
        raise RegisterError(f"registered model {p.model_name} has no @{p.alias} to roll back")
    stack = champion_stack(champion_history(client, p.model_name))
    if len(stack) < 2:
        raise RegisterError(
            f"registered model {p.model_name}: no champion before v{current.version} in its "
            "history; use --promote VERSION"
        )
    version = stack[-2]
    by = args.by or getpass.getuser()
    set_champion(client, p, version, by=by, action="rolled_back", reason=args.reason)
    logger.info("register: @%s rolled back from v%s to v%s by %s: %s",
                p.alias, current.version, version, by, args.reason)  # fmt: skip
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the register stage (or a person's promotion or rollback); returns the exit status."""
    args = _parse_args(argv)
    p = load_params(args.params).registry
    if args.promote:
        return _promote(args, p)
    if args.rollback:
        return _rollback(args, p)
    return _register_new(args, p)


if __name__ == "__main__":
    raise SystemExit(main())
