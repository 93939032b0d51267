"""nerve.vision.ops: box formats, IoU and NMS on hand cases (and torch's IoU where torch is installed)."""
import numpy as np
import pytest

import nerve as nv
from nerve.vision import ops


def test_box_convert_round_trips_and_hand_values():
    b = np.array([[1.0, 2.0, 5.0, 8.0], [0.0, 0.0, 0.0, 0.0]])
    assert ops.box_convert(b, "xyxy", "xywh").tolist() == [[1, 2, 4, 6], [0, 0, 0, 0]]
    assert ops.box_convert(b, "xyxy", "cxcywh").tolist() == [[3, 5, 4, 6], [0, 0, 0, 0]]
    assert ops.box_convert(np.array([[3.0, 5.0, 4.0, 6.0]]), "cxcywh", "xywh").tolist() == [[1, 2, 4, 6]]
    r = np.random.default_rng(0).random((50, 4))
    for fmt in ("xywh", "cxcywh"):
        assert np.allclose(ops.box_convert(ops.box_convert(r, "xyxy", fmt), fmt, "xyxy"), r)
    t = ops.box_convert(nv.tensor(b), "xyxy", "xywh")
    assert isinstance(t, nv.Tensor) and t.shape == (2, 4)
    with pytest.raises(ValueError, match="in_fmt"):
        ops.box_convert(b, "yxyx", "xyxy")
    with pytest.raises(ValueError, match=r"\(K, 4\)"):
        ops.box_area(np.zeros((3, 5)))


def test_box_area_and_iou_by_hand():
    a = np.array([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 4.0]])
    assert ops.box_area(a).tolist() == [4.0, 6.0]
    b = np.array([[1.0, 0.0, 3.0, 2.0], [5.0, 5.0, 6.0, 6.0], [0.0, 0.0, 2.0, 2.0]])
    iou = ops.box_iou(a, b)
    assert iou.shape == (2, 3)
    assert np.allclose(iou[0], [2 / 6, 0.0, 1.0])
    assert np.allclose(iou[1], [2 / (6 + 4 - 2), 0.0, 1 / (4 + 6 - 1)])
    assert ops.box_iou(np.zeros((0, 4)), b).shape == (0, 3)


@pytest.mark.torch
def test_box_iou_matches_torch_formula_on_random_boxes():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    xy = rng.random((1000, 2)) * 100
    boxes = np.concatenate([xy, xy + rng.random((1000, 2)) * 30 + 0.1], axis=1)
    ours = ops.box_iou(boxes[:500], boxes[500:])
    t1, t2 = torch.tensor(boxes[:500]), torch.tensor(boxes[500:])
    area = lambda t: (t[:, 2] - t[:, 0]) * (t[:, 3] - t[:, 1])  # noqa: E731
    lt, rb = torch.max(t1[:, None, :2], t2[:, :2]), torch.min(t1[:, None, 2:], t2[:, 2:])
    inter = (rb - lt).clamp(min=0).prod(2)
    ref = inter / (area(t1)[:, None] + area(t2) - inter)
    assert np.allclose(ours, ref.numpy(), atol=1e-6)


def test_nms_hand_cases():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [0, 0, 10, 10.5]], np.float64)
    scores = np.array([0.8, 0.9, 0.7, 0.6])
    # box 1 is best; box 0 overlaps it with IoU 81/119 = 0.68 > 0.5 and goes; box 3 overlaps box 1
    # with IoU 85.5/(105 + 100 - 85.5) = 0.72 and goes; box 2 is alone
    assert ops.nms(boxes, scores, 0.5).tolist() == [1, 2]
    assert ops.nms(boxes, scores, 0.7).tolist() == [1, 0, 2]   # 0.68 <= 0.7 keeps box 0; 0.72 drops 3
    assert ops.nms(boxes, scores, 1.0).tolist() == [1, 0, 2, 3]  # nothing is suppressed, ordered by score
    # equal scores: visited in index order, so the lower index wins
    tie = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]], np.float64)
    assert ops.nms(tie, np.array([0.5, 0.5, 0.5]), 0.5).tolist() == [0, 2]
    # IoU exactly at the threshold is kept (suppression needs IoU > threshold)
    half = np.array([[0, 0, 2, 1], [1, 0, 3, 1]], np.float64)     # IoU 1/3
    assert ops.nms(half, np.array([1.0, 0.9]), 1 / 3).tolist() == [0, 1]
    empty = ops.nms(np.zeros((0, 4)), np.zeros(0), 0.5)
    assert empty.dtype == np.int64 and empty.shape == (0,)
    t = ops.nms(nv.tensor(boxes), nv.tensor(scores), 0.5)
    assert isinstance(t, nv.Tensor) and t.tolist() == [1, 2]
    with pytest.raises(ValueError, match="scores"):
        ops.nms(boxes, scores[:2], 0.5)


def test_batched_nms_keeps_categories_apart():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [20, 20, 30, 30]], np.float64)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert ops.batched_nms(boxes, scores, np.array([0, 0, 1, 1]), 0.5).tolist() == [0, 2, 3]
    assert ops.batched_nms(boxes, scores, np.array([0, 0, 0, 0]), 0.5).tolist() == \
        ops.nms(boxes, scores, 0.5).tolist()
    assert ops.batched_nms(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64), 0.5).shape == (0,)


def test_box_geometry():
    b = np.array([[2.0, 3.0, 6.0, 9.0]])
    assert ops.hflip_boxes(b, 10).tolist() == [[4, 3, 8, 9]]
    assert ops.vflip_boxes(b, 10).tolist() == [[2, 1, 6, 7]]
    assert ops.resize_boxes(b, (10, 20), (20, 10)).tolist() == [[1, 6, 3, 18]]
    assert ops.crop_boxes(b, 4, 1, 4, 4).tolist() == [[1, 0, 4, 4]]
    assert ops.clip_boxes_to_image(np.array([[-1.0, 2.0, 30.0, 40.0]]), (20, 25)).tolist() == [[0, 2, 25, 20]]


def _nms_reference(boxes, scores, thr):
    """The textbook loop: take the best remaining box, drop everything overlapping it by more than thr."""
    w = np.clip(np.minimum(boxes[:, None, 2], boxes[None, :, 2]) - np.maximum(boxes[:, None, 0], boxes[None, :, 0]), 0, None)
    h = np.clip(np.minimum(boxes[:, None, 3], boxes[None, :, 3]) - np.maximum(boxes[:, None, 1], boxes[None, :, 1]), 0, None)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    iou = w * h / (area[:, None] + area[None, :] - w * h)
    remaining = sorted(range(len(boxes)), key=lambda i: (-scores[i], i))
    keep = []
    while remaining:
        best = remaining.pop(0)
        keep.append(best)
        remaining = [i for i in remaining if iou[best, i] <= thr]
    return keep


def test_nms_matches_the_textbook_loop_on_random_boxes():
    rng = np.random.default_rng(5)
    for trial in range(5):
        xy = rng.random((120, 2)) * 50
        boxes = np.concatenate([xy, xy + rng.random((120, 2)) * 20 + 1], axis=1)
        scores = np.round(rng.random(120), 1)                  # many ties
        for thr in (0.3, 0.5, 0.7):
            assert ops.nms(boxes, scores, thr).tolist() == _nms_reference(boxes, scores, thr)
        idx = rng.integers(0, 3, 120)
        got = ops.batched_nms(boxes, scores, idx, 0.5).tolist()
        want = sorted((i for c in range(3) for i in np.flatnonzero(idx == c)[_nms_reference(
            boxes[idx == c], scores[idx == c], 0.5)]), key=lambda i: (-scores[i], i))
        assert got == want
