"""Decoding transducer outputs into token sequences."""

from tf_contextnet.decoding.greedy import greedy_decode, greedy_decode_encoded, make_greedy_decoder

__all__ = ["greedy_decode", "greedy_decode_encoded", "make_greedy_decoder"]
