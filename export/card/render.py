"""A version's card: one self-contained HTML page (inline SVG, no script, no external files)."""

from __future__ import annotations

from export.card import about, extra, plots, speed
from export.card.facts import CardFacts
from export.card.html import missing, note, section
from export.card.page import page

#: What each kind of model is expected to have recorded, in the order the card draws it.
CLASSIFIER = ("learning_curve", "confusion_matrix")
BINARY = ("roc", "precision_recall", "calibration")
EMBEDDING = ("parity_cosines",)
NAMES = {
    "learning_curve": "learning curve",
    "confusion_matrix": "confusion matrix",
    "roc": "ROC curve",
    "precision_recall": "precision-recall curve",
    "calibration": "calibration curve",
    "parity_cosines": "parity cosines",
}


def render_card(facts: CardFacts) -> str:
    """The card of one version as an HTML page."""
    body = "".join(
        [
            about.header(facts),
            about.identity(facts),
            about.lineage(facts),
            about.metrics(facts),
            evaluation(facts),
            about.parity(facts),
            speed.variant(facts),
            speed.benchmarks(facts),
            about.signature(facts),
            about.labels(facts),
            extra.others(facts),
            about.files(facts),
            note(
                "Rendered from the version's manifest (immutable) and the registry's current "
                "aliases, history and benchmark records."
            ),
        ]
    )
    return page(f"{facts.name} v{facts.version} — model card", body)


def evaluation(facts: CardFacts) -> str:
    """The plots of how the version trained and how it does on its test split."""
    run = plots.Run("", facts.evaluation)
    charts = [
        plots.loss_chart([run]),
        plots.metric_chart([run]),
        plots.roc_chart([run]),
        plots.pr_chart([run]),
        plots.calibration_chart([run]),
        plots.confusion_chart(run),
        plots.parity_chart([run]),
    ]
    drawn = "".join(c for c in charts if c)
    body = gaps(facts) + (f'<div class="charts">{drawn}</div>' if drawn else "")
    return section("Evaluation", body, "evaluation")


def expected(facts: CardFacts) -> tuple[str, ...]:
    """The evaluation records a version of this kind should hold."""
    labels = facts.manifest.get("labels") or []
    if facts.manifest.get("task") == "embedding" or not labels:
        return EMBEDDING if facts.manifest.get("task") == "embedding" else ()
    return CLASSIFIER + (BINARY if len(labels) == 2 else ())


def gaps(facts: CardFacts) -> str:
    """Notes on what is not drawn and why, so a missing chart is never silent."""
    found = facts.evaluation
    want = expected(facts)
    notes = []
    if not found:
        notes.append(
            missing(
                "This version's manifest holds no evaluation record (learning curve, test-split "
                "curves): it was published before ferry recorded them, so only its metrics "
                "and parity figures are shown."
            )
        )
    else:
        absent = [NAMES[k] for k in want if not found.get(k)]
        if absent:
            notes.append(missing("Not recorded in the manifest: " + ", ".join(absent) + "."))
    labels = facts.manifest.get("labels") or []
    if len(labels) > 2:
        notes.append(
            note(
                f"{len(labels)} classes: ROC, precision-recall and calibration curves are drawn "
                "for binary classifiers only; the confusion matrix shows every class."
            )
        )
    variant = facts.manifest.get("variant") or {}
    if variant and found:
        notes.append(
            note(
                f"Recorded when the fp32 source v{variant.get('source_version')} was trained; "
                "this variant's agreement with it is under Variant quality."
            )
        )
    return "".join(notes)
