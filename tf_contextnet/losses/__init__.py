"""RNN-Transducer losses: the loss function, its Keras wrapper, the sub-batched joint + loss and the
transducer training objective (NLL + L2) that models use in ``compute_loss``."""

from tf_contextnet.losses.ctc_loss import ctc_loss
from tf_contextnet.losses.fused_joint_rnnt_loss import fused_joint_rnnt_loss
from tf_contextnet.losses.rnnt import RnntLoss
from tf_contextnet.losses.rnnt_loss import rnnt_loss
from tf_contextnet.losses.transducer_objective import (l2_penalty, l2_variables, scale_for_replicas,
                                                       transducer_compute_loss)

__all__ = ["RnntLoss", "ctc_loss", "fused_joint_rnnt_loss", "l2_penalty", "l2_variables", "rnnt_loss", "scale_for_replicas",
           "transducer_compute_loss"]
