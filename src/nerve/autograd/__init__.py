"""Reverse-mode automatic differentiation: Tensor, Function, the engine, grad modes."""
from .engine import backward, grad
from .function import Function
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .grad_mode import (enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad,
                        set_grad_enabled)
from .graph import count_nodes, to_dot
from .tensor import Tensor, get_default_dtype, set_default_dtype

__all__ = ["Tensor", "Function", "grad", "backward", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "inference_mode", "is_inference_mode_enabled", "get_default_dtype",
           "set_default_dtype", "gradcheck", "gradgradcheck", "GradcheckError", "to_dot", "count_nodes"]
