"""Small shared helpers (masking from lengths)."""

from tf_contextnet.utils.masking import mask_sequence, sequence_mask

__all__ = ["mask_sequence", "sequence_mask"]
