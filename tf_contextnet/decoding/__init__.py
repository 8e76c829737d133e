"""Decoding transducer outputs into token sequences."""

from tf_contextnet.decoding.greedy import greedy_decode, greedy_decode_encoded, make_greedy_decoder
from tf_contextnet.decoding.modified_beam_search import (NBest, make_beam_search_decoder, modified_beam_search,
                                                         modified_beam_search_encoded)

__all__ = ["NBest", "greedy_decode", "greedy_decode_encoded", "make_beam_search_decoder", "make_greedy_decoder",
           "modified_beam_search", "modified_beam_search_encoded"]
