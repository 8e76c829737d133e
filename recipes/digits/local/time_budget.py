"""The time budget moved into the library (``tf_contextnet.training.time_budget``); re-exported here."""

from tf_contextnet.training.time_budget import TimeBudget, spent_seconds, time  # noqa: F401
