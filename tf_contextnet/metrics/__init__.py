"""Recognition metrics: word and character error rates."""

from tf_contextnet.metrics.error_rates import (ErrorCounts, batch_edit_distance, character_error_rate,
                                               character_errors, edit_distance, word_error_rate, word_errors)

__all__ = ["ErrorCounts", "batch_edit_distance", "character_error_rate", "character_errors", "edit_distance",
           "word_error_rate", "word_errors"]
