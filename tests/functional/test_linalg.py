"""Behaviour of functional/linalg.py outside the op table: errors, namespaces, limits."""
import numpy as np
import pytest

import nerve as nv


def test_linalg_namespace_is_reachable_from_the_top():
    assert nv.linalg.vector_norm(nv.tensor([3.0, 4.0])).item() == 5.0
    import nerve.linalg as L

    assert L.norm is nv.linalg.norm
    assert nv.einsum is nv.functional.einsum and nv.tril is nv.functional.tril


def test_nuclear_norm_refuses_double_backward_with_a_clear_error():
    A = nv.randn(3, 3, dtype=nv.float64, requires_grad=True)
    (g,) = nv.autograd.grad(nv.linalg.matrix_norm(A, "nuc"), A, create_graph=True)
    with pytest.raises(RuntimeError, match="only differentiable once"):
        g.sum().backward()


def test_einsum_errors_name_the_op_and_the_shapes():
    with pytest.raises(RuntimeError, match=r"einsum: subscript 'j' has size 4 .* and 5"):
        nv.einsum("ij,jk->ik", nv.ones(3, 4), nv.ones(5, 2))
    with pytest.raises(ValueError, match="names 2 operands but 1"):
        nv.einsum("ij,jk", nv.ones(3, 4))
    with pytest.raises(ValueError, match="output subscript 'z'"):
        nv.einsum("ij->z", nv.ones(3, 4))


def test_einsum_accepts_a_list_of_operands():
    a, b = nv.randn(2, 3), nv.randn(3, 4)
    np.testing.assert_allclose(nv.einsum("ij,jk->ik", [a, b]).numpy(), (a @ b).numpy(), rtol=1e-5)


def test_bmm_and_tril_shape_errors():
    with pytest.raises(RuntimeError, match=r"bmm: .* \(2, 3, 4\) and \(3, 4, 5\)"):
        nv.bmm(nv.ones(2, 3, 4), nv.ones(3, 4, 5))
    with pytest.raises(RuntimeError, match="tril: input must have at least 2 dimensions"):
        nv.ones(3).tril()


def test_einsum_sublist_form_errors():
    with pytest.raises(ValueError, match=r"sublist entries must be ints in \[0, 52\)"):
        nv.einsum(nv.ones(2), [60])
    with pytest.raises(TypeError, match="equation string, or a Tensor"):
        nv.einsum(3, [0])


def test_addmm_and_baddbmm_errors_name_the_op():
    with pytest.raises(RuntimeError, match=r"addmm: mat1 of shape \(2, 3\) and mat2 of shape \(4, 2\)"):
        nv.addmm(nv.ones(2, 2), nv.ones(2, 3), nv.ones(4, 2))
    with pytest.raises(RuntimeError, match=r"addmm: input of shape \(3, 3\) cannot be broadcast"):
        nv.addmm(nv.ones(3, 3), nv.ones(2, 3), nv.ones(3, 2))
    with pytest.raises(RuntimeError, match=r"baddbmm: expected two 3-D tensors"):
        nv.baddbmm(nv.ones(2, 2), nv.ones(2, 3), nv.ones(3, 2))


def test_beta_zero_ignores_nan_in_input_like_torch():
    torch = pytest.importorskip("torch")
    c = np.full((2, 2), np.nan, dtype=np.float32)
    a = np.ones((2, 3), dtype=np.float32)
    b = np.ones((3, 2), dtype=np.float32)
    ours = nv.addmm(nv.tensor(c), nv.tensor(a), nv.tensor(b), beta=0)
    theirs = torch.addmm(torch.tensor(c), torch.tensor(a), torch.tensor(b), beta=0)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
