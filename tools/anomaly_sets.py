"""Labelled synthetic finance series for judging the anomaly detectors (tests and bench/bench_anomaly_finance.py).

Monthly account series in cents, each a family of what finance teams see:

- **seasonal**: level, trend (-0.5 % to +1.5 % a month), a yearly season (5-25 % of the level)
  and noise (3 % of the level); half the series carry one incident (a spike or drop of 8 to 15
  noise standard deviations, like a duplicated or a missing invoice run) in months 25-36, where
  two seasons of history exist; the other half have none.
- **step**: the same without season, plus a lasting change of level of 6 to 20 noise standard
  deviations (a price rise, a new contract) in months 13-30. The step month is the one anomaly;
  every alert after it is a false alarm of the kind the issue calls an alarm train.
- **sparse**: an account with postings in 25-40 % of the months (amounts +/-30 % around a typical
  size) and 0 otherwise; half carry an incident in months 13-36: a posting 6 to 12 times the
  typical size.
- **new**: a new account with 8 to 14 months of history (level and 3 % noise); half end with an
  incident of 10 to 20 noise standard deviations in their last month.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FAMILIES = ("seasonal", "step", "sparse", "new")
LENGTH = 36


@dataclass(frozen=True)
class Labelled:
    """One series and the months (0-based) that are anomalies."""

    family: str
    values: list[int]
    anomalies: frozenset[int]


def _cents(values: np.ndarray) -> list[int]:
    return [int(round(v)) for v in values]


def seasonal(rng: np.random.Generator, with_incident: bool) -> Labelled:
    t = np.arange(LENGTH)
    level = rng.uniform(1e6, 1e7)
    noise = 0.03 * level
    values = (
        level
        + rng.uniform(-0.005, 0.015) * level * t
        + rng.uniform(0.05, 0.25) * level * np.sin(2 * np.pi * t / 12 + rng.uniform(0, 2 * np.pi))
        + rng.normal(0, noise, LENGTH)
    )
    anomalies = set()
    if with_incident:
        month = int(rng.integers(24, LENGTH))
        values[month] += rng.choice([-1.0, 1.0]) * rng.uniform(8, 15) * noise
        anomalies.add(month)
    return Labelled("seasonal", _cents(values), frozenset(anomalies))


def step(rng: np.random.Generator) -> Labelled:
    t = np.arange(LENGTH)
    level = rng.uniform(1e6, 1e7)
    noise = 0.03 * level
    values = level + rng.uniform(-0.003, 0.008) * level * t + rng.normal(0, noise, LENGTH)
    month = int(rng.integers(12, 30))
    values[month:] += rng.choice([-1.0, 1.0]) * rng.uniform(6, 20) * noise
    return Labelled("step", _cents(values), frozenset({month}))


def sparse(rng: np.random.Generator, with_incident: bool) -> Labelled:
    typical = rng.uniform(2e5, 5e6)
    posted = rng.random(LENGTH) < rng.uniform(0.25, 0.4)
    values = np.where(posted, typical * rng.uniform(0.7, 1.3, LENGTH), 0.0)
    anomalies = set()
    if with_incident:
        month = int(rng.integers(12, LENGTH))
        values[month] = typical * rng.uniform(6, 12)
        anomalies.add(month)
    return Labelled("sparse", _cents(values), frozenset(anomalies))


def new_account(rng: np.random.Generator, with_incident: bool) -> Labelled:
    length = int(rng.integers(8, 15))
    level = rng.uniform(2e5, 5e6)
    noise = 0.03 * level
    values = level + rng.normal(0, noise, length)
    anomalies = set()
    if with_incident:
        values[-1] += rng.choice([-1.0, 1.0]) * rng.uniform(10, 20) * noise
        anomalies.add(length - 1)
    return Labelled("new", _cents(values), frozenset(anomalies))


def finance_set(per_family: int, seed: int) -> list[Labelled]:
    """`per_family` series of each family (half of them with an incident where the family has a choice)."""
    rng = np.random.default_rng(seed)
    series: list[Labelled] = []
    for i in range(per_family):
        series.append(seasonal(rng, with_incident=i % 2 == 0))
        series.append(step(rng))
        series.append(sparse(rng, with_incident=i % 2 == 0))
        series.append(new_account(rng, with_incident=i % 2 == 0))
    return series


@dataclass
class Tally:
    """Precision and recall of flagged months against labels, and false alarms per judged month."""

    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    judged: int = 0

    def add(self, flagged: set[int], anomalies: frozenset[int], judged: int) -> None:
        self.true_positives += len(flagged & anomalies)
        self.false_positives += len(flagged - anomalies)
        self.false_negatives += len(anomalies - flagged)
        self.judged += judged

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        labelled = self.true_positives + self.false_negatives
        return self.true_positives / labelled if labelled else 1.0

    @property
    def false_alarm_rate(self) -> float:
        normal = self.judged - self.true_positives - self.false_negatives
        return self.false_positives / normal if normal else 0.0
