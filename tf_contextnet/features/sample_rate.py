"""The one sample rate of the package's audio.

``prepare`` resamples every recording to it and stores it in the TFRecords, the front end
(``LogMelSpectrogram``, ``load_audio``, ``decode_wav``) assumes it by default, and a model directory
records it for inference. Defined here, at the lowest floor that needs it; everything else imports it.
"""

SAMPLE_RATE = 16000
