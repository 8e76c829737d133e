"""The ContextNet encoder, the RNN-T prediction and joint networks, the transducer and its presets."""

from tf_contextnet.models.block_table import BlockSpec, block_table, encoder_output_lengths, total_stride
from tf_contextnet.models.complexity import (encoder_flops, encoder_gflops_per_second, encoder_parameters,
                                             joint_parameters, prediction_parameters, transducer_parameters)
from tf_contextnet.models.contextnet_encoder import ContextNetEncoder
from tf_contextnet.models.contextnet_transducer import ContextNetTransducer
from tf_contextnet.models.joint_network import JointNetwork
from tf_contextnet.models.lstm_language_model import LstmLanguageModel
from tf_contextnet.models.prediction_network import PredictionNetwork
from tf_contextnet.models.presets import PAPER_PARAMETERS, PRESETS, preset_config
from tf_contextnet.models.transducer import Transducer, TransducerParts, transducer_parts
from tf_contextnet.models.transducer_training_mixin import TransducerTrainingMixin

__all__ = [
    "BlockSpec",
    "block_table",
    "ContextNetEncoder",
    "ContextNetTransducer",
    "encoder_flops",
    "encoder_gflops_per_second",
    "encoder_output_lengths",
    "encoder_parameters",
    "joint_parameters",
    "JointNetwork",
    "LstmLanguageModel",
    "PAPER_PARAMETERS",
    "prediction_parameters",
    "PredictionNetwork",
    "PRESETS",
    "preset_config",
    "total_stride",
    "Transducer",
    "transducer_parameters",
    "TransducerParts",
    "transducer_parts",
    "TransducerTrainingMixin",
]
