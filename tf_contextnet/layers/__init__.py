"""ContextNet's building blocks: masked batch norm, 1-D squeeze-and-excitation, the conv block."""

from tf_contextnet.layers.context_block import ContextBlock
from tf_contextnet.layers.masked_batch_normalization import MaskedBatchNormalization
from tf_contextnet.layers.squeeze_excite_1d import SqueezeExcite1D

__all__ = ["ContextBlock", "MaskedBatchNormalization", "SqueezeExcite1D"]
