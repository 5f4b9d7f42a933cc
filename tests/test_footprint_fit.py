"""The footprint fit: a least-squares line with its residual (unit), and on real PostgreSQL across sizes the
per-root bytes it gives agree with a second, independent run of the step at other sizes."""

from __future__ import annotations

import pytest

from sandbox.experiments.footprint.fit import fit_line, per_write


def test_the_fit_recovers_a_line_and_reports_its_residual() -> None:
    exact = fit_line([(300, 1000 + 300 * 250), (1000, 1000 + 1000 * 250), (3000, 1000 + 3000 * 250)])
    assert exact is not None and exact.per_entity == pytest.approx(250) and exact.fixed == pytest.approx(1000)
    assert exact.residual == pytest.approx(0, abs=1e-6)
    bent = fit_line([(300, 75_000), (1000, 260_000), (3000, 740_000)])
    assert bent is not None and bent.residual > 1000  # a page-granular step shows as residual, not hidden


def test_no_line_from_one_size_and_no_rate_without_writes() -> None:
    assert fit_line([(300, 1)]) is None and fit_line([(300, 1), (300, 2)]) is None
    assert per_write((0, 100), (10, 1100)) == 100 and per_write((0, None), (10, 5)) is None
    assert per_write((10, 5), (10, 9)) is None


@pytest.mark.stores("postgres")
async def test_the_fit_on_real_postgres_predicts_a_larger_size(open_model_store) -> None:
    from sandbox.workload.dataset import Dataset, Sizes
    from tests.helpers import model as shipped

    s = await open_model_store("postgres")
    data = Dataset(shipped(), 11, Sizes(6000))
    await s.prepare(data)
    points, held = [], 0
    for size in (300, 1000, 3000, 6000):
        await s.write_batch(list(data.roots(held, size)))
        held = size
        points.append((size, (await s.footprint()).held_bytes))
    fit = fit_line(points[:3])
    assert fit is not None and fit.per_entity > 0
    predicted, measured = fit.fixed + fit.per_entity * 6000, points[3][1]
    # the tolerance: the fit's own residual (three of them) plus 10% of the variable part
    assert abs(predicted - measured) <= 3 * fit.residual + 0.10 * fit.per_entity * 6000, (predicted, measured, fit)
