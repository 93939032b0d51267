"""inference_mode: no_grad's semantics, plus is_inference_mode_enabled, as in PyTorch."""
import pytest

import nerve as nv


def test_context_manager_records_nothing_and_restores():
    w = nv.ones(2, requires_grad=True)
    assert not nv.is_inference_mode_enabled()
    with nv.inference_mode():
        assert nv.is_inference_mode_enabled() and not nv.is_grad_enabled()
        y = w * 2
    assert not y.requires_grad and y.grad_fn is None
    assert nv.is_grad_enabled() and not nv.is_inference_mode_enabled()


def test_mode_false_turns_it_off_and_reenables_grad_like_torch():
    torch = pytest.importorskip("torch")
    w = nv.ones(2, requires_grad=True)
    tw = torch.ones(2, requires_grad=True)
    with nv.inference_mode(), torch.inference_mode():
        with nv.inference_mode(False), torch.inference_mode(False):
            assert nv.is_inference_mode_enabled() == torch.is_inference_mode_enabled()
            assert nv.is_grad_enabled() == torch.is_grad_enabled()
            assert (w * 2).requires_grad == (tw * 2).requires_grad
        assert nv.is_inference_mode_enabled() == torch.is_inference_mode_enabled()


def test_decorator_with_and_without_parentheses():
    w = nv.ones(2, requires_grad=True)

    @nv.inference_mode
    def f():
        return (w * 2).requires_grad, nv.is_inference_mode_enabled()

    @nv.inference_mode()
    def g(x):
        return (x * 2).requires_grad

    assert f() == (False, True)
    assert g(w) is False
    assert f.__name__ == "f" and nv.is_grad_enabled()


def test_state_is_restored_after_an_exception():
    with pytest.raises(ValueError):
        with nv.inference_mode():
            raise ValueError("boom")
    assert nv.is_grad_enabled() and not nv.is_inference_mode_enabled()
    assert nv.autograd.inference_mode is nv.inference_mode
