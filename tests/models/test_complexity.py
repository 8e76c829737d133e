"""Analytic parameter/FLOP counts against built models and TensorFlow's graph profiler."""

from __future__ import annotations

import pytest
import tensorflow as tf
from tensorflow.python.profiler import model_analyzer, option_builder

from tf_contextnet.models import (ContextNetEncoder, ContextNetTransducer, encoder_flops,
                                  encoder_gflops_per_second, transducer_parameters)

CONFIGS = [
    {"vocabulary_size": 13, "num_mel_bins": 12, "alpha": 1 / 32},
    {"vocabulary_size": 7, "num_mel_bins": 5, "alpha": 1 / 16, "kernel_size": 3, "downsample_blocks": (3,),
     "se": False, "prediction_embedding_dim": 8, "prediction_units": 6, "prediction_num_layers": 2,
     "joint_dim": 10},
    {"vocabulary_size": 9, "num_mel_bins": 6, "alpha": 1 / 16, "downsample_blocks": (3, 7),
     "block_indices": (0, 1, 3, 7, 11, 22)},
]


@pytest.mark.parametrize("config", CONFIGS)
def test_parameters_equal_built_model(config):
    model = ContextNetTransducer(**config)
    model.build()
    counted = transducer_parameters(**config)
    assert counted == {"encoder": model.encoder.count_params(), "prediction": model.prediction.count_params(),
                       "joint": model.joint.count_params(), "total": model.count_params()}


def _profiled_flops(encoder, frames, bins):
    """FLOPs of the MatMul and depthwise-conv ops in the traced inference graph (TF's own counters)."""
    encoder((tf.zeros((1, frames, bins)), tf.constant([frames])))
    fn = tf.function(lambda x, n: encoder((x, n), training=False)).get_concrete_function(
        tf.TensorSpec([1, frames, bins]), tf.TensorSpec([1], tf.int32))
    options = option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation()) \
        .with_empty_output().account_displayed_op_only(False).build()
    options["account_type_regexes"] = ["MatMul", "DepthwiseConv2dNative", "BatchMatMulV2", "Conv2D"]
    return model_analyzer.profile(fn.graph, options=options).total_float_ops


@pytest.mark.parametrize("kwargs, frames", [
    ({"alpha": 1 / 32, "kernel_size": 4, "se_context_window": 3}, 17),
    ({"alpha": 1 / 32, "downsample_blocks": (3, 7), "block_indices": (0, 2, 3, 7, 12, 22)}, 19),
    pytest.param({"alpha": 1 / 16, "kernel_size": 3}, 37, marks=pytest.mark.slow),
    pytest.param({"alpha": 1 / 32, "kernel_size": 5, "downsample_blocks": (3,)}, 20, marks=pytest.mark.slow),
])
def test_flops_equal_tensorflow_profiler(kwargs, frames):
    bins = 12
    assert encoder_flops(frames, num_mel_bins=bins, **kwargs) == _profiled_flops(ContextNetEncoder(**kwargs),
                                                                                   frames, bins)


def test_flops_by_hand_for_one_block_regime():
    """Brute count for alpha=1/256 (C0-C10: 1 channel, C11-C21: 2, C22: 2; bins 1; no SE), 8 frames."""
    c0 = 8 * (5 * 1 + 1)  # one layer, 8 frames, depthwise k=5 on 1 channel + 1x1
    frames = {1: 8, 2: 8, 3: 8, 4: 4, 5: 4, 6: 4, 7: 4, 8: 2, 9: 2, 10: 2}  # input frames of C1..C10
    macs = c0
    for i in range(1, 11):
        t_in = frames[i]
        t_out = -(-t_in // 2) if i in (3, 7) else t_in
        macs += 4 * t_in * (5 + 1) + t_out * (5 + 1) + t_out * 1  # 4 layers, strided last layer, residual
    t = 2
    for i in range(11, 22):  # C11 maps 1 -> 2 channels in its first layer and residual
        t_out = 1 if i == 14 else t
        first_in = 1 if i == 11 else 2
        macs += t * (5 * first_in + first_in * 2) + 3 * t * (5 * 2 + 2 * 2) + t_out * (5 * 2 + 2 * 2) \
            + t_out * first_in * 2
        t = t_out
    macs += t * (5 * 2 + 2 * 2)  # C22
    assert encoder_flops(8, alpha=1 / 256, se=False, num_mel_bins=1) == 2 * macs


def test_eight_times_downsampling_is_cheaper_and_scales_with_alpha():
    assert encoder_gflops_per_second(1.0, 5, (3, 7, 14)) < encoder_gflops_per_second(1.0, 5, (3,))
    ratio = encoder_gflops_per_second(2.0) / encoder_gflops_per_second(1.0)
    assert 3.5 < ratio < 4.0  # pointwise convs dominate and scale with alpha^2
