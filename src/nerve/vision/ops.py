"""torchvision.ops for boxes: format conversion, areas, IoU, non-maximum suppression, and the
geometry that moves boxes with an image (flip, resize, crop).

Boxes are ``(K, 4)`` rows of pixel coordinates. ``'xyxy'`` is ``(x1, y1, x2, y2)`` (top-left
and bottom-right corners), ``'xywh'`` is ``(x1, y1, width, height)`` and ``'cxcywh'`` is
``(centre x, centre y, width, height)``. Every function takes a nerve Tensor or a NumPy array
and returns the same kind (index results are int64). They are plain array code: no gradient
flows through them.

    >>> import numpy as np
    >>> box_iou(np.array([[0., 0., 2., 2.]]), np.array([[1., 0., 3., 2.]])).tolist()
    [[0.3333333333333333]]
"""
from __future__ import annotations

import numpy as np

from ..autograd import Tensor

__all__ = ["box_convert", "box_area", "box_iou", "nms", "batched_nms", "clip_boxes_to_image",
           "hflip_boxes", "vflip_boxes", "resize_boxes", "crop_boxes"]

_FORMATS = ("xyxy", "xywh", "cxcywh")


def _arr(boxes, name="boxes"):
    """``(array, rewrap)``: the values as an array and the function that returns the caller's kind."""
    if isinstance(boxes, Tensor):
        return np.asarray(boxes.detach()._data), Tensor
    if isinstance(boxes, np.ndarray):
        return boxes, lambda a: a
    if isinstance(boxes, (list, tuple)):
        a = np.asarray(boxes, dtype=np.float32)
        # Only an empty list is given the (0, 4) shape; any other shape is checked as it is, so
        # a flat list of 8 numbers or a nested (B, K, 4) list is refused, not read as 2 or B*K boxes.
        return (a.reshape(0, 4) if a.size == 0 and name.startswith("boxes") else a), lambda v: v
    raise TypeError(f"{name} must be a Tensor or a NumPy array of shape (K, 4), got {type(boxes).__name__}")


def _check(b, name="boxes"):
    if b.ndim != 2 or b.shape[-1] != 4:
        raise ValueError(f"{name} must have shape (K, 4), got {b.shape}")
    return b


def box_convert(boxes, in_fmt: str, out_fmt: str):
    """Convert ``(K, 4)`` boxes between ``'xyxy'``, ``'xywh'`` and ``'cxcywh'``.

    The dtype is kept, except that integer boxes converted to or from ``'cxcywh'`` come back
    as float32 (a centre or a half size can be a half pixel, as torchvision's division gives).

    Example:
        >>> import numpy as np
        >>> box_convert(np.array([[1., 2., 5., 8.]]), "xyxy", "cxcywh").tolist()
        [[3.0, 5.0, 4.0, 6.0]]
    """
    for f, which in ((in_fmt, "in_fmt"), (out_fmt, "out_fmt")):
        if f not in _FORMATS:
            raise ValueError(f"{which} must be one of {_FORMATS}, got {f!r}")
    b, wrap = _arr(boxes)
    b = _check(b)
    if in_fmt == out_fmt:
        return wrap(b.copy())
    dtype = b.dtype
    if "cxcywh" in (in_fmt, out_fmt) and b.dtype.kind != "f":
        # centres and half sizes of integer boxes are halves: compute and return floats, as
        # torchvision's true division does (casting back would truncate 1.5 to 1)
        b = b.astype(np.float32)
        dtype = b.dtype
    a, c = b[:, :2], b[:, 2:]
    if in_fmt == "xywh":
        xyxy = np.concatenate([a, a + c], axis=1)
    elif in_fmt == "cxcywh":
        xyxy = np.concatenate([a - c / 2, a + c / 2], axis=1)
    else:
        xyxy = b
    p, q = xyxy[:, :2], xyxy[:, 2:]
    if out_fmt == "xyxy":
        out = xyxy
    elif out_fmt == "xywh":
        out = np.concatenate([p, q - p], axis=1)
    else:
        out = np.concatenate([(p + q) / 2, q - p], axis=1)
    return wrap(np.ascontiguousarray(out.astype(dtype, copy=False)))


def box_area(boxes):
    """Areas ``(x2 - x1) * (y2 - y1)`` of ``(K, 4)`` xyxy boxes, shape ``(K,)``."""
    b, wrap = _arr(boxes)
    b = _check(b)
    return wrap((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))


def _iou(a, b):
    area1 = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area2 = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = area1[:, None] + area2[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return inter / union


def box_iou(boxes1, boxes2):
    """Pairwise intersection over union of xyxy boxes: ``(N, 4), (M, 4) -> (N, M)``.

    Two boxes with zero union (both degenerate) give NaN, as in torchvision.

    Example:
        >>> import numpy as np
        >>> box_iou(np.array([[0., 0., 1., 1.]]), np.array([[0., 0., 1., 1.], [2., 2., 3., 3.]])).tolist()
        [[1.0, 0.0]]
    """
    a, wrap = _arr(boxes1, "boxes1")
    b, _ = _arr(boxes2, "boxes2")
    return wrap(_iou(_check(a, "boxes1"), _check(b, "boxes2")))


def nms(boxes, scores, iou_threshold: float):
    """Greedy non-maximum suppression: the indices of the kept boxes, by decreasing score.

    Boxes are visited from the highest score down (equal scores in index order); a box is
    dropped when its IoU with an already kept box is greater than ``iou_threshold``.

    Example:
        >>> import numpy as np
        >>> b = np.array([[0., 0., 10., 10.], [1., 1., 11., 11.], [20., 20., 30., 30.]])
        >>> nms(b, np.array([0.9, 0.8, 0.7]), 0.5).tolist()
        [0, 2]
    """
    b, wrap = _arr(boxes)
    s, _ = _arr(scores, "scores")
    b, s = _check(b), np.asarray(s).reshape(-1)
    if len(s) != len(b):
        raise ValueError(f"nms: {len(b)} boxes but {len(s)} scores; give one score per box")
    if len(b) == 0:
        return wrap(np.zeros(0, dtype=np.int64))
    order = np.argsort(-s, kind="stable")
    iou = _iou(b[order], b[order])
    suppressed = np.zeros(len(b), dtype=bool)
    keep = []
    for i in range(len(b)):       # greedy by nature: each kept box decides the ones after it
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_threshold
    return wrap(order[np.asarray(keep, dtype=np.int64)].astype(np.int64))


def batched_nms(boxes, scores, idxs, iou_threshold: float):
    """:func:`nms` within each category ``idxs`` separately (boxes of different categories never
    suppress each other); indices of the kept boxes, by decreasing score.

    Example:
        >>> import numpy as np
        >>> b = np.array([[0., 0., 10., 10.], [1., 1., 11., 11.]])
        >>> batched_nms(b, np.array([0.9, 0.8]), np.array([0, 1]), 0.5).tolist()
        [0, 1]
    """
    b, wrap = _arr(boxes)
    i, _ = _arr(idxs, "idxs")
    b, i = _check(b), np.asarray(i).reshape(-1)
    if len(i) != len(b):
        raise ValueError(f"batched_nms: {len(b)} boxes but {len(i)} category indices")
    if len(b) == 0:
        return wrap(np.zeros(0, dtype=np.int64))
    s, _ = _arr(scores, "scores")
    s = np.asarray(s).reshape(-1)
    if len(s) != len(b):
        raise ValueError(f"batched_nms: {len(b)} boxes but {len(s)} scores; give one score per box")
    # One nms per category, exactly as defined. (Shifting each category to a region of its
    # own and running one nms, torchvision's trick for small inputs, moves the coordinates by
    # up to category * span: in float32 that rounds them, and a pair whose IoU is near the
    # threshold can then be kept or dropped differently than within its own category.)
    keep = []
    for c in np.unique(i):
        members = np.flatnonzero(i == c)
        keep.append(members[np.asarray(nms(b[members], s[members], iou_threshold))])
    keep = np.concatenate(keep)
    keep = keep[np.lexsort((keep, -s[keep]))]        # by decreasing score, equal scores by index
    return wrap(keep.astype(np.int64))


def clip_boxes_to_image(boxes, size):
    """Clip xyxy boxes to an image of ``size = (height, width)``."""
    b, wrap = _arr(boxes)
    b = _check(b).copy()
    h, w = size
    b[:, 0::2] = np.clip(b[:, 0::2], 0, w)
    b[:, 1::2] = np.clip(b[:, 1::2], 0, h)
    return wrap(b)


def hflip_boxes(boxes, width):
    """The xyxy boxes of an image mirrored left-right (image ``width`` in pixels)."""
    b, wrap = _arr(boxes)
    b = _check(b)
    return wrap(np.stack([width - b[:, 2], b[:, 1], width - b[:, 0], b[:, 3]], axis=1))


def vflip_boxes(boxes, height):
    """The xyxy boxes of an image mirrored top-bottom."""
    b, wrap = _arr(boxes)
    b = _check(b)
    return wrap(np.stack([b[:, 0], height - b[:, 3], b[:, 2], height - b[:, 1]], axis=1))


def resize_boxes(boxes, size, new_size):
    """Scale xyxy boxes from an image of ``size = (h, w)`` to one of ``new_size = (h', w')``."""
    b, wrap = _arr(boxes)
    b = _check(b)
    (h, w), (nh, nw) = size, new_size
    scale = np.array([nw / w, nh / h, nw / w, nh / h])
    out = b * scale
    return wrap(out.astype(b.dtype) if b.dtype.kind == "f" else out)


def crop_boxes(boxes, top, left, height, width):
    """The xyxy boxes in the window ``[top, top + height) x [left, left + width)``: shifted by the
    window's corner and clipped to it (a box outside it gets zero width or height)."""
    b, wrap = _arr(boxes)
    b = _check(b)
    shift = np.array([left, top, left, top], dtype=b.dtype if b.dtype.kind == "f" else np.float64)
    out = b - shift
    out[:, 0::2] = np.clip(out[:, 0::2], 0, width)
    out[:, 1::2] = np.clip(out[:, 1::2], 0, height)
    return wrap(out)
