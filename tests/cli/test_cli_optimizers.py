"""`nerve train --optimizer` also offers adadelta, adamax, nadam and radam (issue 18)."""
import pytest

import nerve as nv
from nerve.cli.defaults import DEFAULT_LR
from nerve.cli.main import OPTIMIZERS, build_parser
from nerve.runs import training

NEW = {"adadelta": nv.optim.Adadelta, "adamax": nv.optim.Adamax, "nadam": nv.optim.NAdam, "radam": nv.optim.RAdam}


@pytest.mark.parametrize("name", sorted(NEW))
def test_new_optimizers_parse_build_and_step(name):
    args = build_parser().parse_args(["train", "--optimizer", name])
    assert args.optimizer == name and name in OPTIMIZERS and name in training.OPTIMIZERS
    lr = DEFAULT_LR[name]
    nv.manual_seed(0)
    net = nv.nn.Linear(3, 1)
    opt = training.make_optimizer(name, net.parameters(), lr)
    assert type(opt) is NEW[name] and opt.param_groups[0]["lr"] == lr
    x, y = nv.randn(32, 3), nv.randn(32, 1)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = nv.nn.functional.mse_loss(net(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
