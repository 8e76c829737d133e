"""Keras Tuner sweeps over ContextNet's width α, kernel size, downsampling and SE, with their costs."""

from tf_contextnet.tuning.context_net_hyper_model import OBJECTIVE, ContextNetHyperModel
from tf_contextnet.tuning.results import collect_results, pareto_front, plot_pareto, write_results_table
from tf_contextnet.tuning.run_sweep import SweepConfig, SweepResult, check_budget, plan_steps, run_sweep
from tf_contextnet.tuning.search_space import (DOWNSAMPLING, KERNEL_SIZES, FloatRange, SearchSpace, SearchSpaceError,
                                               load_search_space, parse_search_space)
from tf_contextnet.tuning.sweep_tuner import TUNERS, SweepTunerMixin, make_tuner
from tf_contextnet.tuning.trial_cost import TrialCost, over_budget, trial_cost
from tf_contextnet.tuning.trial_recorder import TrialRecorder, read_trial_record, write_trial_record

__all__ = ["DOWNSAMPLING", "KERNEL_SIZES", "OBJECTIVE", "TUNERS", "ContextNetHyperModel", "FloatRange", "SearchSpace",
           "SearchSpaceError", "SweepConfig", "SweepResult", "SweepTunerMixin", "TrialCost", "TrialRecorder",
           "check_budget", "collect_results", "load_search_space", "make_tuner", "over_budget", "pareto_front",
           "parse_search_space", "plan_steps", "plot_pareto", "read_trial_record", "run_sweep", "trial_cost",
           "write_results_table", "write_trial_record"]
