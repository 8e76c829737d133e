"""Data: manifests, LibriSpeech listing, TFRecord preparation and the tf.data input pipeline."""

from tf_contextnet.data.batching_options import BatchingOptions
from tf_contextnet.data.dataset import make_dataset
from tf_contextnet.data.dataset_report import DatasetReport
from tf_contextnet.data.filter_options import FilterOptions
from tf_contextnet.data.librispeech import read_librispeech
from tf_contextnet.data.manifest import ManifestEntry, read_manifest, write_manifest
from tf_contextnet.data.pipeline_options import PipelineOptions
from tf_contextnet.data.prepare import prepare
from tf_contextnet.data.prepare_options import PrepareOptions
from tf_contextnet.data.prepare_summary import PrepareSummary
from tf_contextnet.data.tfrecords import float_to_int16, parse_example, read_tfrecords

__all__ = ["BatchingOptions", "DatasetReport", "FilterOptions", "ManifestEntry", "PipelineOptions", "PrepareOptions",
           "PrepareSummary", "float_to_int16", "make_dataset", "parse_example", "prepare", "read_librispeech",
           "read_manifest", "read_tfrecords", "write_manifest"]
