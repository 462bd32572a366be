"""ember.optim.lr_scheduler against PyTorch: identical learning-rate sequences.

Each case builds the same scheduler on an ember and a torch optimizer (two parameter
groups with different base learning rates) and compares ``get_last_lr()`` and the groups'
``lr`` over 40 steps to 1e-12 (the formulas are PyTorch's, evaluated in the same order),
then checks that a ``state_dict`` round trip in the middle resumes the same sequence.
"""

import math
import warnings

import numpy as np
import pytest

import ember
import ember.optim as optim
from ember.optim import lr_scheduler as sched_mod

torch = pytest.importorskip("torch")

STEPS = 40


def _optimizers(kind="SGD"):
    groups_e = [
        {"params": [ember.zeros(2, requires_grad=True)]},
        {"params": [ember.zeros(3, requires_grad=True)], "lr": 0.3},
    ]
    groups_t = [
        {"params": [torch.zeros(2, requires_grad=True)]},
        {"params": [torch.zeros(3, requires_grad=True)], "lr": 0.3},
    ]
    if kind == "SGD":
        return optim.SGD(groups_e, lr=0.1, momentum=0.9), torch.optim.SGD(
            groups_t, lr=0.1, momentum=0.9
        )
    return optim.Adam(groups_e, lr=0.1), torch.optim.Adam(groups_t, lr=0.1)


def _lambda(epoch):
    return 0.95**epoch


CASES = {
    "StepLR": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[3, 10, 10, 25], gamma=0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=12, eta_min=0.001),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5),
    "CosineAnnealingWarmRestarts-mult": lambda m, o: m.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.01
    ),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=STEPS + 1),
    "OneCycleLR-linear-3phase": lambda m, o: m.OneCycleLR(
        o, max_lr=0.5, epochs=6, steps_per_epoch=7, anneal_strategy="linear", three_phase=True
    ),
    "LambdaLR": lambda m, o: m.LambdaLR(o, _lambda),
    "LambdaLR-list": lambda m, o: m.LambdaLR(o, [_lambda, lambda e: 1.0 / (1 + e)]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.97),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=15),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=8),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=30, power=2.0),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o,
        [m.LinearLR(o, start_factor=0.1, total_iters=5), m.CosineAnnealingLR(o, T_max=20)],
        milestones=[5],
    ),
    "SequentialLR-3": lambda m, o: m.SequentialLR(
        o,
        [m.ConstantLR(o, factor=0.2, total_iters=3), m.ExponentialLR(o, 0.9), m.StepLR(o, 4)],
        milestones=[4, 20],
    ),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ExponentialLR(o, gamma=0.95), m.StepLR(o, step_size=6, gamma=0.5)]
    ),
}


def _lrs(opt):
    return [g["lr"] for g in opt.param_groups]


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("name", list(CASES))
def test_lr_sequence_matches_torch(name, kind):
    eopt, topt = _optimizers(kind)
    make = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        es, ts = make(sched_mod, eopt), make(torch.optim.lr_scheduler, topt)
        np.testing.assert_allclose(es.get_last_lr(), ts.get_last_lr(), rtol=1e-12)
        for step in range(STEPS):
            eopt.step()
            topt.step()
            es.step()
            ts.step()
            np.testing.assert_allclose(
                es.get_last_lr(), ts.get_last_lr(), rtol=1e-12, err_msg=f"step {step}"
            )
            np.testing.assert_allclose(_lrs(eopt), _lrs(topt), rtol=1e-12)
            if name.startswith("OneCycle"):
                key = "momentum" if kind == "SGD" else "betas"
                for ge, gt in zip(eopt.param_groups, topt.param_groups):
                    np.testing.assert_allclose(ge[key], gt[key], rtol=1e-12)


@pytest.mark.parametrize("name", list(CASES))
def test_state_dict_round_trip_resumes_the_sequence(name):
    make = CASES[name]
    ref_opt, _ = _optimizers()
    reference = make(sched_mod, ref_opt)
    expected = []
    for _ in range(STEPS):
        ref_opt.step()
        reference.step()
        expected.append(reference.get_last_lr())

    opt, _ = _optimizers()
    sched = make(sched_mod, opt)
    got = []
    for step in range(STEPS):
        if step == 15:
            saved_sched, saved_opt = sched.state_dict(), opt.state_dict()
            # PyTorch's documented order: build the scheduler, then load both states
            # (the optimizer last, since building a scheduler writes the groups' lr).
            opt, _ = _optimizers()
            sched = make(sched_mod, opt)
            sched.load_state_dict(saved_sched)
            opt.load_state_dict(saved_opt)
        opt.step()
        sched.step()
        got.append(sched.get_last_lr())
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_scheduler_state_dict_matches_torch_keys():
    eopt, topt = _optimizers()
    es = sched_mod.StepLR(eopt, step_size=3)
    ts = torch.optim.lr_scheduler.StepLR(topt, step_size=3)
    esd, tsd = es.state_dict(), ts.state_dict()
    for key in ("step_size", "gamma", "base_lrs", "last_epoch", "_step_count", "_last_lr"):
        assert esd[key] == tsd[key], key


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"mode": "max"},
        {"threshold_mode": "abs", "threshold": 0.05},
        {"mode": "max", "threshold_mode": "abs", "threshold": 0.05, "cooldown": 2},
        {"patience": 2, "factor": 0.5, "cooldown": 3, "min_lr": 0.02},
        {"patience": 0, "factor": 0.5, "min_lr": [0.01, 0.05]},
    ],
)
def test_reduce_lr_on_plateau_matches_torch(kwargs):
    kw = {"patience": 3, **kwargs}
    eopt, topt = _optimizers()
    es = sched_mod.ReduceLROnPlateau(eopt, **kw)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw)
    rng = np.random.default_rng(0)
    metrics = [1.0 / (1 + 0.2 * i) + 0.05 * rng.standard_normal() for i in range(60)]
    metrics[30:] = [m + 0.2 for m in metrics[30:]]
    saved = None
    for i, metric in enumerate(metrics):
        if i == 25:
            saved = es.state_dict()
            es = sched_mod.ReduceLROnPlateau(eopt, mode="min")
            es.load_state_dict(saved)
        es.step(metric)
        ts.step(metric)
        assert es.get_last_lr() == ts.get_last_lr(), f"step {i}"
        assert es.num_bad_epochs == ts.num_bad_epochs
        assert es.cooldown_counter == ts.cooldown_counter
    assert _lrs(eopt) == _lrs(topt)
    assert min(_lrs(eopt)) < 0.1  # the metric sequence does trigger reductions


def test_step_with_explicit_epoch_uses_closed_form():
    for make in (CASES["StepLR"], CASES["MultiStepLR"], CASES["CosineAnnealingLR"]):
        eopt, topt = _optimizers()
        es, ts = make(sched_mod, eopt), make(torch.optim.lr_scheduler, topt)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in (5, 11, 3, 30):
                es.step(epoch)
                ts.step(epoch)
                np.testing.assert_allclose(es.get_last_lr(), ts.get_last_lr(), rtol=1e-12)


def test_warm_restarts_fractional_epochs_match_torch():
    eopt, topt = _optimizers()
    es = sched_mod.CosineAnnealingWarmRestarts(eopt, T_0=4, T_mult=2)
    ts = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=4, T_mult=2)
    for i in range(50):
        epoch = i * 0.37
        es.step(epoch)
        ts.step(epoch)
        np.testing.assert_allclose(es.get_last_lr(), ts.get_last_lr(), rtol=1e-12)


def test_two_schedulers_chained_on_one_optimizer():
    eopt, topt = _optimizers()
    e1, e2 = sched_mod.ExponentialLR(eopt, 0.9), sched_mod.MultiStepLR(eopt, [5, 12], 0.1)
    t1 = torch.optim.lr_scheduler.ExponentialLR(topt, 0.9)
    t2 = torch.optim.lr_scheduler.MultiStepLR(topt, [5, 12], 0.1)
    for _ in range(STEPS):
        eopt.step()
        topt.step()
        for s in (e1, e2, t1, t2):
            s.step()
        np.testing.assert_allclose(_lrs(eopt), _lrs(topt), rtol=1e-12)


def test_resume_with_last_epoch():
    opt, _ = _optimizers()
    with pytest.raises(KeyError, match="initial_lr"):
        sched_mod.StepLR(opt, step_size=2, last_epoch=4)
    for g in opt.param_groups:
        g["initial_lr"] = g["lr"]
    sched = sched_mod.ExponentialLR(opt, gamma=0.5, last_epoch=4)
    assert sched.last_epoch == 5


def test_scheduler_errors():
    opt, _ = _optimizers()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        sched_mod.StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        sched_mod.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode sideways is unknown"):
        sched_mod.ReduceLROnPlateau(opt, mode="sideways")
    with pytest.raises(ValueError, match="threshold mode"):
        sched_mod.ReduceLROnPlateau(opt, threshold_mode="log")
    with pytest.raises(ValueError, match="expected 2 min_lrs"):
        sched_mod.ReduceLROnPlateau(opt, min_lr=[0.1])
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas"):
        sched_mod.LambdaLR(opt, [_lambda])
    with pytest.raises(ValueError, match="between 0 and 1"):
        sched_mod.ConstantLR(opt, factor=2.0)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        sched_mod.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="positive integer T_0"):
        sched_mod.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="total_steps OR"):
        sched_mod.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="max_lr must have the same length"):
        sched_mod.OneCycleLR(opt, max_lr=[1.0, 2.0, 3.0], total_steps=10)
    with pytest.raises(ValueError, match="anneal_strategy"):
        sched_mod.OneCycleLR(opt, max_lr=1.0, total_steps=10, anneal_strategy="cubic")
    with pytest.raises(ValueError, match="one more than the number of milestone"):
        sched_mod.SequentialLR(opt, [sched_mod.StepLR(opt, 2)], milestones=[3])
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        sched_mod.ChainedScheduler([sched_mod.ReduceLROnPlateau(opt)])
    other, _ = _optimizers()
    with pytest.raises(ValueError, match="same optimizer"):
        sched_mod.SequentialLR(
            opt, [sched_mod.StepLR(opt, 2), sched_mod.StepLR(other, 2)], milestones=[3]
        )
    one_cycle = sched_mod.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    one_cycle.step()
    one_cycle.step()
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        one_cycle.step()
    adagrad = optim.Adagrad([ember.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="support momentum or beta1"):
        sched_mod.OneCycleLR(adagrad, max_lr=1.0, total_steps=10)


def test_cosine_annealing_reaches_eta_min():
    opt, _ = _optimizers()
    sched = sched_mod.CosineAnnealingLR(opt, T_max=10, eta_min=0.01)
    for _ in range(10):
        sched.step()
    assert math.isclose(sched.get_last_lr()[0], 0.01, rel_tol=1e-9)
