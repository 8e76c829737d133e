"""RNN-Transducer losses: the loss function, its Keras wrapper and the sub-batched joint + loss."""

from tf_contextnet.losses.fused_joint_rnnt_loss import fused_joint_rnnt_loss
from tf_contextnet.losses.rnnt import RnntLoss
from tf_contextnet.losses.rnnt_loss import rnnt_loss

__all__ = ["RnntLoss", "fused_joint_rnnt_loss", "rnnt_loss"]
