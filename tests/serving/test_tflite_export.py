"""Builtins-only TFLite: the op checker, and (slow) the three variants against Keras on real speech."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from serving_fixtures import an4_test_files

from tf_contextnet.serving import UnsupportedOpsError, check_tflite_ops, tflite_ops

litert = pytest.importorskip("ai_edge_litert.interpreter", reason="ai-edge-litert (the 'export' extra) is not installed")


def _convert(function, module=None, select_tf_ops=False, resource_variables=False) -> bytes:
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], module)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS] + (
        [tf.lite.OpsSet.SELECT_TF_OPS] if select_tf_ops else [])
    converter.experimental_enable_resource_variables = resource_variables
    return converter.convert()


def test_checker_accepts_builtins_and_refuses_flex_and_resource_variables():
    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def builtin(x):
        return tf.nn.relu(x) * 2.0

    assert {"RELU", "MUL"} <= check_tflite_ops(_convert(builtin))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def flex(x):
        return tf.raw_ops.Bincount(arr=tf.cast(x, tf.int32), size=4, weights=tf.zeros([0]))

    flatbuffer = _convert(flex, select_tf_ops=True)
    assert any(op.startswith("CUSTOM:Flex") for op in set().union(*tflite_ops(flatbuffer)))
    with pytest.raises(UnsupportedOpsError, match="CUSTOM:Flex"):
        check_tflite_ops(flatbuffer)

    class Counter(tf.Module):
        def __init__(self):
            super().__init__()
            self.count = tf.Variable(0.0)

        @tf.function(input_signature=[tf.TensorSpec([], tf.float32)])
        def add(self, x):
            self.count.assign_add(x)
            return self.count.read_value()

    counter = Counter()
    with pytest.raises(UnsupportedOpsError, match="VAR_HANDLE|READ_VARIABLE|ASSIGN_VARIABLE"):
        check_tflite_ops(_convert(counter.add, counter, resource_variables=True))


def _an4_16k(shared_data, count):
    import soundfile

    return [soundfile.read(p, dtype="float32")[0] for p in an4_test_files(shared_data / "an4", count)]


@pytest.mark.slow
@pytest.mark.data
def test_every_variant_is_builtins_only_with_float_features_and_float_transcribes_like_keras(
        tiny_model_dir, fsdd_dir, shared_data, tmp_path):
    from tf_contextnet.decoding import greedy_decode
    from tf_contextnet.features import load_audio
    from tf_contextnet.inference import load_model_directory, waveform_features
    from tf_contextnet.serving.tflite_export import export_tflite

    loaded = load_model_directory(tiny_model_dir)
    written = export_tflite(loaded, str(tmp_path / "{variant}.tflite"), ("float", "fp16", "dynamic"))
    audio = [load_audio(p, 16000) for p in sorted((fsdd_dir / "recordings").glob("*.wav"))[::100][:20]]
    audio += _an4_16k(shared_data, 20)
    assert len(audio) == 40
    runners = {v: litert.Interpreter(model_path=p) for v, p in written.items()}
    for variant, interpreter in runners.items():
        check_tflite_ops(written[variant])
        assert "WHILE" in set().union(*tflite_ops(written[variant]))
    spoken = 0
    for a in audio:
        features, lengths = waveform_features(loaded, tf.constant(a[None]), tf.constant([a.size]))
        tokens, token_lengths = greedy_decode(loaded.model, features, lengths, 2)
        keras_tokens = tokens[0, :int(token_lengths[0])].numpy().tolist()
        spoken += bool(keras_tokens)
        for variant, interpreter in runners.items():
            got = interpreter.get_signature_runner("features")(waveform=a[None])
            np.testing.assert_array_equal(got["feature_lengths"], lengths.numpy())
            scale = np.abs(features.numpy()).max()
            np.testing.assert_allclose(got["features"], features.numpy(), rtol=0, atol=1e-3 * scale,
                                       err_msg=f"{variant} front end is not float")
        float_tokens = runners["float"].get_signature_runner("transcribe")(waveform=a[None])["tokens"]
        assert float_tokens.tolist() == keras_tokens
    assert spoken >= 30, "the test model must emit tokens on real speech"


def _subgraph_links(flatbuffer: bytes) -> list[list[tuple[str, object]]]:
    """Per subgraph, its ops as (name, detail): the called subgraphs of WHILE (body) and IF (then, else), the
    weight shape of FULLY_CONNECTED, else None."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    names = {value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    subgraphs = []
    for s in range(model.SubgraphsLength()):
        graph, ops = model.Subgraphs(s), []
        for o in range(graph.OperatorsLength()):
            op = graph.Operators(o)
            code = model.OperatorCodes(op.OpcodeIndex())
            name = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "?")
            detail = None
            if name in ("WHILE", "IF"):
                options = schema.WhileOptions() if name == "WHILE" else schema.IfOptions()
                options.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
                detail = ((options.BodySubgraphIndex(),) if name == "WHILE"
                          else (options.ThenSubgraphIndex(), options.ElseSubgraphIndex()))
            elif name == "FULLY_CONNECTED":
                detail = tuple(graph.Tensors(op.Inputs(1)).ShapeAsNumpy().tolist())
            ops.append((name, detail))
        subgraphs.append(ops)
    return subgraphs


def _reachable(subgraphs, start: int) -> set[int]:
    """``start`` and every subgraph it calls, transitively."""
    seen, todo = set(), [start]
    while todo:
        s = todo.pop()
        if s not in seen:
            seen.add(s)
            todo += [c for name, detail in subgraphs[s] if name in ("WHILE", "IF") for c in detail]
    return seen


@pytest.fixture(scope="module")
def tiny_loaded(tiny_model_dir):
    from tf_contextnet.inference import load_model_directory

    return load_model_directory(tiny_model_dir)


def _export_float(loaded, path) -> str:
    from tf_contextnet.serving.tflite_export import export_tflite

    return export_tflite(loaded, str(path), "float")["float"]


def _chirp(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    return (0.3 * np.sin(2 * np.pi * (300 + 2000 * t) * t) + 0.01 * rng.normal(size=t.size)).astype(np.float32)


def _keras_tokens(loaded, audio: np.ndarray, max_symbols: int) -> tuple[list[int], int]:
    """Keras greedy tokens of ``audio`` and the number of encoder frames."""
    from tf_contextnet.decoding import greedy_decode
    from tf_contextnet.inference import waveform_features

    features, lengths = waveform_features(loaded, tf.constant(audio[None]), tf.constant([audio.size]))
    tokens, token_lengths = greedy_decode(loaded.model, features, lengths, max_symbols)
    frames = int(loaded.model.transcribe(features, lengths, training=False)[1][0])
    return tokens[0, :int(token_lengths[0])].numpy().tolist(), frames


def test_prediction_network_steps_only_on_emitting_steps(tiny_loaded, tmp_path):
    """The decoding WHILE's body calls the LSTM (its FULLY_CONNECTEDs of 4H outputs) only through an IF
    branch: blank steps do not run the prediction network."""
    with open(_export_float(tiny_loaded, tmp_path / "float.tflite"), "rb") as f:
        subgraphs = _subgraph_links(f.read())
    lstm_rows = 4 * tiny_loaded.model.parts().prediction_network.units
    (body,) = [detail[0] for ops in subgraphs for name, detail in ops if name == "WHILE"
               if any(n == "FULLY_CONNECTED" for n, _ in subgraphs[detail[0]])]
    body_ops = subgraphs[body]
    assert not [d for n, d in body_ops if n == "FULLY_CONNECTED" and d[0] == lstm_rows], "LSTM runs on every step"
    branches = [detail for name, detail in body_ops if name == "IF"]
    assert len(branches) == 1
    lstm_in = [s for s in _reachable(subgraphs, branches[0][0]) | _reachable(subgraphs, branches[0][1])
               if any(n == "FULLY_CONNECTED" and d[0] == lstm_rows for n, d in subgraphs[s])]
    assert lstm_in, "the IF does not hold the prediction network's step"


@pytest.mark.slow
def test_known_transcripts_no_tokens_and_every_step_a_token(tiny_loaded, tmp_path):
    """Blank forced (joint bias): no tokens (an empty ``tokens`` output, readable from Python); blank
    impossible: exactly ``max_symbols_per_frame`` tokens on every encoder frame, the Keras sequence."""
    from tf_contextnet.serving.tflite_export import TfliteFunctions

    cap = TfliteFunctions(tiny_loaded).max_symbols_per_frame
    output = tiny_loaded.model.parts().joint_network.output_projection
    original = output.bias.numpy()
    audio = _chirp(1.5, 0)
    try:
        for blank_bias, case in ((100.0, "silent"), (-100.0, "always")):
            bias = original.copy()
            bias[0] = blank_bias
            output.bias.assign(bias)
            expected, frames = _keras_tokens(tiny_loaded, audio, cap)
            runner = litert.Interpreter(model_path=_export_float(tiny_loaded, tmp_path / f"{case}.tflite")
                                        ).get_signature_runner("transcribe")
            got = runner(waveform=audio[None])
            assert int(got["num_tokens"]) == len(expected) == (0 if case == "silent" else cap * frames)
            assert got["tokens"].tolist() == expected
    finally:
        output.bias.assign(original)
    assert len(set(expected)) > 1, "degenerate: the prediction network state did not change the tokens"


@pytest.mark.parametrize("variant", ["float", "fp16", "dynamic"])
def test_run_time_constants_keep_their_float32_bits_and_the_mel_matrix_is_not_stored_dense(variant):
    """The mel matrix and values that float16 rounds (1/3), makes subnormal (1e-6, 1e-5: the log floor and
    epsilon) or flushes to zero (3e-9) come out of each variant's conversion bit for bit."""
    from tf_contextnet.serving.tflite_export import run_time_constant

    reference = tf.signal.linear_to_mel_weight_matrix(80, 257, 16000, 20.0, 8000.0).numpy()
    small = np.array([1e-6, 1e-5, 3e-9, 1 / 3], np.float32)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def constants(x):
        zero = tf.minimum(tf.size(x), 0)  # a 0 the converter cannot know (a static shape would fold it)
        return tf.concat([tf.reshape(run_time_constant(reference, zero), [-1]), run_time_constant(small, zero)], 0)

    converter = tf.lite.TFLiteConverter.from_concrete_functions([constants.get_concrete_function()], None)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if variant != "float":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    flatbuffer = converter.convert()
    interpreter = litert.Interpreter(model_content=flatbuffer)
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], [3])
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], np.ones([3], np.float32))
    interpreter.invoke()
    got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_array_equal(got, np.concatenate([reference.ravel(), small]))
    assert len(flatbuffer) < reference.nbytes / 4, "the dense mel matrix is stored in the file"


def _matmul_weights(flatbuffer: bytes) -> list[tuple[str, tuple[int, ...], str, int]]:
    """(operator, shape, type name, number of scales) of the second input (the weights) of every
    FULLY_CONNECTED and BATCH_MATMUL, all subgraphs."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    types = {value: name for name, value in vars(schema.TensorType).items() if not name.startswith("_")}
    names = {schema.BuiltinOperator.FULLY_CONNECTED: "FULLY_CONNECTED", schema.BuiltinOperator.BATCH_MATMUL: "BATCH_MATMUL"}
    codes = [max(model.OperatorCodes(i).BuiltinCode(), model.OperatorCodes(i).DeprecatedBuiltinCode())
             for i in range(model.OperatorCodesLength())]
    found = []
    for s in range(model.SubgraphsLength()):
        graph = model.Subgraphs(s)
        for o in range(graph.OperatorsLength()):
            op = graph.Operators(o)
            if codes[op.OpcodeIndex()] in names:
                weights = graph.Tensors(op.Inputs(1))
                scales = weights.Quantization().ScaleLength() if weights.Quantization() else 0
                found.append((names[codes[op.OpcodeIndex()]], tuple(int(d) for d in weights.ShapeAsNumpy()),
                              types[weights.Type()], scales))
    return found


def test_dynamic_keeps_the_joint_encoder_projection_in_float(tiny_loaded, tmp_path):
    """In the dynamic file the joint's encoder projection multiplies float32 weights (its float16 values,
    built at run time: a BATCH_MATMUL, as the weights are no constant); every FULLY_CONNECTED with 1024
    or more weights has int8 weights, one scale per output channel."""
    from tf_contextnet.serving.tflite_export import export_tflite

    with open(export_tflite(tiny_loaded, str(tmp_path / "dynamic.tflite"), "dynamic")["dynamic"], "rb") as f:
        weights = _matmul_weights(f.read())
    kernel = tiny_loaded.model.parts().joint_network.encoder_projection.kernel
    assert kernel.shape[0] * kernel.shape[1] >= 1024, "too small for the quantiser: the test could not fail"
    shapes = {tuple(kernel.shape), tuple(kernel.shape[::-1])}
    projection = [(dtype, scales) for _, shape, dtype, scales in weights if shape in shapes]
    assert projection and all(entry == ("FLOAT32", 0) for entry in projection), projection
    others = [(shape, dtype, scales) for op, shape, dtype, scales in weights
              if op == "FULLY_CONNECTED" and shape not in shapes and np.prod(shape) >= 1024]
    assert others and all(dtype == "INT8" and scales == shape[0] for shape, dtype, scales in others), others


def test_float16_run_time_constant_is_the_float16_rounding_in_the_dynamic_variant():
    """``run_time_constant(.., tf.float16)``: an odd number of values (padding of the int32 packing)
    comes out of a dynamic-range conversion as their float16 rounding, in half the float32 bytes."""
    from tf_contextnet.serving.tflite_export import run_time_constant

    values = np.random.default_rng(0).normal(size=(37, 101)).astype(np.float32)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
    def constants(x):
        return run_time_constant(values, tf.minimum(tf.size(x), 0), tf.float16)

    converter = tf.lite.TFLiteConverter.from_concrete_functions([constants.get_concrete_function()], None)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    flatbuffer = converter.convert()
    check_tflite_ops(flatbuffer)
    interpreter = litert.Interpreter(model_content=flatbuffer)
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], [2])
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], np.ones([2], np.float32))
    interpreter.invoke()
    got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_array_equal(got, values.astype(np.float16).astype(np.float32))
    assert len(flatbuffer) < values.nbytes / 2 + 4096
