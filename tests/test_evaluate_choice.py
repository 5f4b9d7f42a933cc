"""The decision rule on verdicts alone (no server): a store failing a requirement is never chosen; among the rest,
more requirements met wins, then a product over a stand-in, then the larger latency margins."""

from __future__ import annotations

from sandbox.report.evaluation.decision_md import choose
from sandbox.report.evaluation.score import MET, NOT_MEASURED, NOT_MET, Verdict


def v(store: str, status: str, margin: str = "", stand_in: bool = False) -> Verdict:
    return Verdict(store, "latency", status, margin, stand_in=stand_in)


def test_a_failing_store_is_never_chosen_even_with_more_met() -> None:
    verdicts = [v("a", MET), v("a", MET), v("a", NOT_MET), v("b", MET), v("b", NOT_MEASURED)]
    assert choose(["a", "b"], verdicts)[0] == "b"


def test_every_store_failing_means_no_choice() -> None:
    assert choose(["a", "b"], [v("a", NOT_MET), v("b", NOT_MET)])[0] is None


def test_a_product_beats_a_stand_in_then_the_larger_margin_wins() -> None:
    stand_in = [v("m", MET, "1,900.00 ms under the target", stand_in=True)]
    assert choose(["m", "p"], [*stand_in, v("p", MET, "5.00 ms under the target")])[0] == "p"
    assert choose(["p", "q"], [v("p", MET, "5.00 ms under the target"),
                               v("q", MET, "1,005.50 ms under the target")])[0] == "q"
