"""Small shared helpers (masking from lengths)."""

from tf_contextnet.utils.masking import mask_sequence, sequence_mask, valid_frames, zero_padding

__all__ = ["mask_sequence", "sequence_mask", "valid_frames", "zero_padding"]
