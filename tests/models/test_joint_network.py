"""JointNetwork: harness, float64 reference, projections + join equal the call."""

from __future__ import annotations

import numpy as np
import pytest

from tests.testing import run_layer_checks
from tf_contextnet.models import JointNetwork


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((2, 5, 6)).astype(np.float32), rng.standard_normal((2, 3, 4)).astype(np.float32))


def test_harness(tmp_path):
    run_layer_checks(JointNetwork, {"vocabulary_size": 9, "joint_dim": 8}, _inputs(), tmp_path)


def test_matches_float64_reference():
    enc, pred = _inputs(1)
    joint = JointNetwork(vocabulary_size=9, joint_dim=8)
    logits = joint((enc, pred)).numpy()
    assert logits.shape == (2, 5, 3, 9)
    we, be = (np.asarray(w, np.float64) for w in joint.encoder_projection.weights)
    wp = np.asarray(joint.prediction_projection.kernel, np.float64)
    wo, bo = (np.asarray(w, np.float64) for w in joint.output_projection.weights)
    hidden = np.tanh((enc @ we + be)[:, :, None] + (pred @ wp)[:, None])
    np.testing.assert_allclose(logits, hidden @ wo + bo, atol=1e-5)


def test_projections_then_join_equal_call_per_position():
    enc, pred = _inputs(2)
    joint = JointNetwork(vocabulary_size=9, joint_dim=8)
    full = joint((enc, pred)).numpy()
    one = joint.join(joint.project_encoder(enc[:, 3]), joint.project_prediction(pred[:, 1])).numpy()
    np.testing.assert_allclose(one, full[:, 3, 1], atol=1e-6)


@pytest.mark.parametrize("kwargs", [{"vocabulary_size": 1}, {"vocabulary_size": 5, "joint_dim": 0}])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="JointNetwork"):
        JointNetwork(**kwargs)
