"""make_dataset: the interface dict, features equal to per-utterance log-mels, seeded determinism,
bucketing, filtering counts, unknown symbols, caching; options as objects or as keywords."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile

from tf_contextnet.data import BatchingOptions, FilterOptions, PipelineOptions, make_dataset, read_tfrecords
from tf_contextnet.data.dataset import dataset_options, read_metadata
from tf_contextnet.features import LogMelSpectrogram, PerUtteranceNormalization, frame_lengths
from tf_contextnet.text import CharacterTokenizer

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def prepared(prepared_librispeech):
    """(folder, {transcript: int16 pcm}, tokenizer) of the prepared LibriSpeech-layout fixture."""
    output, _ = prepared_librispeech
    records = read_tfrecords(sorted(output.glob("*.tfrecord")))
    by_text = {r["transcript"]: r["pcm"] for r in records}
    assert len(by_text) == len(records)
    return output, by_text, CharacterTokenizer.train(by_text)


def label_batches(dataset) -> list[list[list[int]]]:
    return [b["labels"].numpy().tolist() for b in dataset]


def test_batches_follow_the_interface_and_match_per_utterance_features(prepared):
    folder, by_text, tokenizer = prepared
    dataset = make_dataset(folder, tokenizer, batch_size=5, shuffle=False)
    assert set(dataset.element_spec) == {"features", "feature_lengths", "labels", "label_lengths"}
    extractor = LogMelSpectrogram()
    seen = []
    for batch in dataset:
        features, lengths = batch["features"].numpy(), batch["feature_lengths"].numpy()
        labels, label_lengths = batch["labels"].numpy(), batch["label_lengths"].numpy()
        assert features.dtype == np.float32 and features.shape[2] == 80 and features.shape[1] == lengths.max()
        assert lengths.dtype == np.int32 and labels.dtype == np.int32 and label_lengths.dtype == np.int32
        for b in range(features.shape[0]):
            text = tokenizer.decode_to_python(labels[b:b + 1])[0]
            seen.append(text)
            pcm = by_text[text]
            np.testing.assert_array_equal(labels[b, :label_lengths[b]], tokenizer.encode(text).numpy())
            assert np.all(labels[b, label_lengths[b]:] == 0)
            alone, alone_lengths = extractor((pcm[None].astype(np.float32) / 32768.0, np.array([len(pcm)])))
            assert lengths[b] == alone_lengths[0] == frame_lengths(len(pcm))
            np.testing.assert_allclose(features[b, :lengths[b]], alone[0].numpy(), rtol=1e-5, atol=1e-4)
            assert np.all(features[b, lengths[b]:] == 0)
    assert sorted(seen) == sorted(by_text)


def test_same_seed_same_batches_other_seed_other_order(prepared):
    folder, _, tokenizer = prepared

    def run(seed, repeat=True, **kwargs):
        dataset = make_dataset(folder, tokenizer, batch_size=3, seed=seed, shuffle_buffer=12, repeat=repeat,
                               bucket_boundaries=[2.6], **kwargs)
        return label_batches(dataset.take(8))

    first = run(7)
    assert run(7) == first
    assert run(8) != first
    assert run(7, cache=True) == run(7, cache=True)
    # The cache fixes the file order of epoch one, so only the first epoch matches the uncached run.
    assert run(7, repeat=False, cache=True) == run(7, repeat=False)


def test_bucketing_keeps_each_batch_on_one_side_of_a_boundary(prepared):
    folder, by_text, tokenizer = prepared
    boundary = float(np.median([len(p) for p in by_text.values()])) / 16000
    dataset = make_dataset(folder, tokenizer, batch_size=4, seed=1, bucket_boundaries=[boundary])
    limit = frame_lengths(int(round(boundary * 16000)) - 1)
    sides = []
    for batch in dataset:
        below = batch["feature_lengths"].numpy() <= limit
        assert below.all() or not below.any()
        sides.append(bool(below.all()))
    assert True in sides and False in sides


def test_static_shapes_one_shape_declared_in_the_spec(prepared):
    folder, by_text, tokenizer = prepared
    max_duration, max_labels = 3.0, 120
    dataset, report = make_dataset(folder, tokenizer, 3, shuffle=False, max_duration=max_duration,
                                   max_label_length=max_labels, static_shapes=True, return_report=True)
    frames = int(frame_lengths(int(max_duration * 16000)))
    spec = dataset.element_spec
    assert spec["features"].shape.as_list() == [3, frames, 80]
    assert spec["labels"].shape.as_list() == [3, max_labels]
    assert spec["feature_lengths"].shape.as_list() == [3]
    batches = list(dataset)
    assert len(batches) == report.kept // 3  # full batches only
    for batch in batches:
        assert batch["features"].shape == (3, frames, 80) and batch["labels"].shape == (3, max_labels)
        lengths, label_lengths = batch["feature_lengths"].numpy(), batch["label_lengths"].numpy()
        for b in range(3):
            text = tokenizer.decode_to_python(batch["labels"][b:b + 1].numpy())[0]
            assert lengths[b] == frame_lengths(len(by_text[text]))
            assert np.all(batch["labels"].numpy()[b, label_lengths[b]:] == 0)


def test_static_shapes_with_buckets_pad_to_each_boundary(prepared):
    folder, by_text, tokenizer = prepared
    boundary = float(np.median([len(p) for p in by_text.values()])) / 16000
    max_duration = max(len(p) for p in by_text.values()) / 16000 + 0.1
    dataset = make_dataset(folder, tokenizer, 2, seed=2, bucket_boundaries=[boundary], max_duration=max_duration,
                           max_label_length=200, static_shapes=True)
    allowed = {int(frame_lengths(int(round(boundary * 16000)) - 1)), int(frame_lengths(int(max_duration * 16000)))}
    shapes = {tuple(batch["features"].shape) for batch in dataset}
    assert {s[1] for s in shapes} == allowed
    assert {s[0] for s in shapes} == {2} and {s[2] for s in shapes} == {80}


@pytest.mark.parametrize("kwargs, message", [({"max_label_length": 50}, "max_duration"),
                                             ({"max_duration": 2.0}, "max_label_length"),
                                             ({"max_duration": 2.0, "max_label_length": 50,
                                               "bucket_boundaries": [1.0, 2.5]}, "below max_duration")])
def test_static_shapes_need_the_padded_sizes(prepared, kwargs, message):
    folder, _, tokenizer = prepared
    with pytest.raises(ValueError, match=message):
        make_dataset(folder, tokenizer, 2, static_shapes=True, **kwargs)


def test_filters_are_counted(prepared):
    folder, by_text, tokenizer = prepared
    max_duration, max_labels = 2.6, 78
    too_long = sum(len(p) > max_duration * 16000 for p in by_text.values())
    too_many = sum(len(p) <= max_duration * 16000 and len(t) > max_labels for t, p in by_text.items())
    assert too_long > 0 and too_many > 0
    dataset, report = make_dataset(folder, tokenizer, 4, max_duration=max_duration, max_label_length=max_labels,
                                   return_report=True)
    assert report.dropped == {"too_long": too_long, "too_many_labels": too_many}
    assert report.total == len(by_text) and report.kept == len(by_text) - too_long - too_many
    kept = sum(int(b["label_lengths"].shape[0]) for b in dataset)
    assert kept == report.kept
    assert "too_long" in report.format()


def test_unknown_symbols_error_or_skip(prepared):
    folder, by_text, _ = prepared
    without_v = CharacterTokenizer.train(t.replace("v", "") for t in by_text)
    with_v = sorted(t for t in by_text if "v" in t)
    with pytest.raises(ValueError, match=r"utterance '\d+-\d+-\d+': transcript '.*v.*' has \['v'\]"):
        make_dataset(folder, without_v, 4)
    dataset, report = make_dataset(folder, without_v, 4, on_unknown="skip", return_report=True)
    assert report.dropped == {"unknown_symbols": len(with_v)}
    texts = [t for b in dataset for t in without_v.decode_to_python(b["labels"])]
    assert sorted(texts) == sorted(t for t in by_text if "v" not in t)


def test_reads_files_without_an_index_and_normalises(prepared, tmp_path):
    folder, by_text, tokenizer = prepared
    for path in folder.glob("*.tfrecord"):
        shutil.copy(path, tmp_path / path.name)
    scanned = read_metadata(sorted(str(p) for p in tmp_path.glob("*.tfrecord")))
    assert scanned == read_metadata(sorted(str(p) for p in folder.glob("*.tfrecord")))
    assert sorted(row[2] for row in scanned) == sorted(by_text)
    dataset, report = make_dataset(str(tmp_path / "*.tfrecord"), tokenizer, 12, shuffle=False,
                                   normalization=PerUtteranceNormalization(), return_report=True)
    assert (report.total, report.kept) == (len(by_text), len(by_text))
    batch = next(iter(dataset))
    for features, length in zip(batch["features"].numpy(), batch["feature_lengths"].numpy()):
        np.testing.assert_allclose(features[:length].mean(axis=0), 0.0, atol=1e-3)
        np.testing.assert_allclose(features[:length].std(axis=0), 1.0, atol=1e-2)


def test_short_audio_is_counted(tmp_path):
    from tf_contextnet.data import ManifestEntry, prepare, write_manifest

    soundfile.write(tmp_path / "short.wav", np.full(300, 1000, np.int16), 16000)
    soundfile.write(tmp_path / "ok.wav", np.full(4000, 1000, np.int16), 16000)
    write_manifest([ManifestEntry(str(tmp_path / "short.wav"), "a"), ManifestEntry(str(tmp_path / "ok.wav"), "b")],
                   tmp_path / "m.tsv")
    prepare(tmp_path / "m.tsv", tmp_path / "out", num_workers=1, progress=False)
    _, report = make_dataset(tmp_path / "out", CharacterTokenizer(["a", "b"]), 2, return_report=True)
    assert report.dropped == {"too_short": 1}


def test_argument_errors(tmp_path):
    tokenizer = CharacterTokenizer(["a"])
    with pytest.raises(FileNotFoundError, match="no TFRecord files"):
        make_dataset(tmp_path, tokenizer, 2)
    with pytest.raises(ValueError, match="batch_size"):
        make_dataset(tmp_path, tokenizer, 0)
    with pytest.raises(FileNotFoundError, match="do not exist"):
        make_dataset([str(tmp_path / "x.tfrecord")], tokenizer, 2)


def test_option_objects_give_the_keyword_batches(prepared):
    folder, by_text, tokenizer = prepared
    boundary = float(np.median([len(p) for p in by_text.values()])) / 16000
    by_keyword = make_dataset(folder, tokenizer, 3, seed=7, shuffle_buffer=12, bucket_boundaries=[boundary],
                              max_label_length=78)
    by_object = make_dataset(folder, tokenizer, batching=BatchingOptions(3, bucket_boundaries=[boundary]),
                             filtering=FilterOptions(max_label_length=78),
                             pipeline=PipelineOptions(seed=7, shuffle_buffer=12))
    first = label_batches(by_keyword)
    assert len(first) > 1 and first == label_batches(by_object)
    assert max(len(t) for b in first for t in b) <= 78


def test_keywords_go_to_their_option_group():
    batching, filtering, pipeline = dataset_options(4, shuffle=False, max_duration=2.0, bucket_boundaries=[1.0],
                                                    cache="x.cache")
    assert batching == BatchingOptions(4, bucket_boundaries=(1.0,))
    assert filtering == FilterOptions(max_duration=2.0)
    assert pipeline == PipelineOptions(shuffle=False, cache="x.cache")
    given = PipelineOptions(seed=3)
    assert dataset_options(batching=batching, pipeline=given) == (batching, FilterOptions(), given)


@pytest.mark.parametrize("args, kwargs, message", [
    ((4,), {"shufle": False}, r"unexpected keyword argument\(s\) \['shufle'\]"),
    ((4,), {"pipeline": PipelineOptions(), "seed": 1}, r"\['seed'\] both as keywords and in pipeline="),
    ((4,), {"batching": BatchingOptions(4)}, r"\['batch_size'\] both as keywords and in batching="),
    ((), {"shuffle": False}, "needs batch_size or batching"),
    ((4,), {"filtering": {"max_duration": 2.0}}, "filtering must be a FilterOptions, got dict"),
])
def test_option_errors(args, kwargs, message):
    with pytest.raises(TypeError, match=message):
        dataset_options(*args, **kwargs)
