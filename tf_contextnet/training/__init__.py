"""Training: schedule, optimizer, precision, callbacks and distribution strategies.

``ModelDirectory``/``load_model_directory``/``save_model_directory`` (now in ``tf_contextnet.inference``) and
``TransducerTrainingMixin``/``transducer_compute_loss``/``l2_*`` (now in ``models``/``losses``) are re-exported
here until the next release.
"""

from tf_contextnet.training.batch_norm_statistics import recompute_batch_norm_statistics
from tf_contextnet.training.checkpointing import checkpoint_callbacks
from tf_contextnet.training.epoch_step_limit import EpochStepLimit
from tf_contextnet.training.fused_adam import FusedAdam
from tf_contextnet.inference.model_directory import ModelDirectory, load_model_directory, save_model_directory
from tf_contextnet.training.multi_worker_shim import apply_multi_worker_shim
from tf_contextnet.training.non_finite_loss_guard import NonFiniteLossGuard
from tf_contextnet.training.optimizer import make_optimizer
from tf_contextnet.training.precision import set_precision
from tf_contextnet.training.resumable_backup import ResumableBackup
from tf_contextnet.training.run_training import TrainingConfig, TrainingResult, run_training
from tf_contextnet.training.strategies import STRATEGIES, get_strategy
from tf_contextnet.losses.transducer_objective import l2_penalty, l2_variables, transducer_compute_loss
from tf_contextnet.models.transducer_training_mixin import TransducerTrainingMixin
from tf_contextnet.training.validation_error_rates import ValidationErrorRates
from tf_contextnet.training.variational_noise import VariationalNoise
from tf_contextnet.training.warmup_schedule import WarmupSchedule

__all__ = ["STRATEGIES", "EpochStepLimit", "FusedAdam", "ModelDirectory", "NonFiniteLossGuard", "ResumableBackup",
           "TrainingConfig", "TrainingResult",
           "TransducerTrainingMixin", "ValidationErrorRates", "VariationalNoise", "WarmupSchedule",
           "apply_multi_worker_shim", "checkpoint_callbacks", "get_strategy", "l2_penalty", "l2_variables",
           "load_model_directory", "make_optimizer", "recompute_batch_norm_statistics", "run_training",
           "save_model_directory", "set_precision", "transducer_compute_loss"]
