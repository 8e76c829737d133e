"""tf_contextnet: ContextNet (Han et al., 2020, arXiv 2005.03191) in TensorFlow 2 / Keras 3.

Public API only; importing this package has no side effects beyond importing TensorFlow/Keras.
"""

__version__ = "0.1.0"
