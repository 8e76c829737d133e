"""Moved to ``tf_contextnet.losses.transducer_objective`` (the model owns its objective); this
re-export keeps the old import path working until the next release."""

from tf_contextnet.losses.transducer_objective import (l2_penalty, l2_variables, scale_for_replicas,
                                                       transducer_compute_loss)

__all__ = ["l2_penalty", "l2_variables", "scale_for_replicas", "transducer_compute_loss"]
