"""Recognition metrics: word, character and sentence error rates, S/D/I alignments, icefall ``errs`` files."""

from tf_contextnet.metrics.edit_alignment import EditCounts, align, count_edits, edit_counts
from tf_contextnet.metrics.error_rates import (ErrorCounts, batch_edit_distance, character_error_rate,
                                               character_errors, edit_distance, sentence_errors, word_error_rate,
                                               word_errors)
from tf_contextnet.metrics.error_statistics import write_error_statistics, write_errs_file

__all__ = ["EditCounts", "ErrorCounts", "align", "batch_edit_distance", "character_error_rate", "character_errors",
           "count_edits", "edit_counts", "edit_distance", "sentence_errors", "word_error_rate", "word_errors",
           "write_error_statistics", "write_errs_file"]
