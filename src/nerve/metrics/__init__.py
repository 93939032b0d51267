"""``nerve.metrics``: evaluation metrics on plain arrays, and streaming accumulators.

Arrays in, numbers out: every function accepts NumPy arrays, lists and nerve Tensors, uses
NumPy only, and matches its scikit-learn (or sacrebleu, scipy) counterpart. Empty inputs and
inputs of different lengths raise ``ValueError`` naming the function and the sizes.

    >>> import nerve as nv
    >>> nv.metrics.accuracy([0, 1, 1], [0, 1, 0])
    0.6666666666666666
    >>> nv.metrics.confusion_matrix([0, 1, 1], [0, 1, 0]).tolist()
    [[1, 0], [1, 1]]

Groups:

* labels: ``accuracy``, ``balanced_accuracy_score``, ``top_k_accuracy``, ``confusion_matrix``, ``precision``, ``recall``
  (``sensitivity``, ``true_positive_rate``, ``tpr``), ``specificity``, ``f1_score``,
  ``fbeta_score``, ``precision_recall_fscore_support``, ``classification_report`` (all with
  ``sample_weight``; precision/recall/F also on multilabel indicator matrices);
* scores: ``roc_curve``, ``roc_auc_score``, ``auc``, ``precision_recall_curve``,
  ``average_precision_score`` (all but ``auc`` with ``sample_weight``);
* probabilities: ``log_loss`` (with ``sample_weight``), ``entropy``, ``cross_entropy``, ``kl_divergence``,
  ``perplexity``;
* calibration: ``expected_calibration_error``, ``reliability_bins``;
* regression: ``mean_squared_error``, ``root_mean_squared_error``, ``mean_absolute_error``,
  ``r2_score`` (with ``sample_weight`` and per-output weights);
* text: ``corpus_bleu`` (``bleu``), ``sentence_bleu``;
* streaming: ``Mean``, ``Accuracy``, ``ConfusionMatrix``;
* reports: ``evaluation_report`` (what ``nerve evaluate`` saves), ``softmax`` of logits.
"""
from ._checks import UndefinedMetricWarning
from .bleu_score import (BleuResult, bleu, bleu_from_statistics, bleu_statistics, corpus_bleu,
                         sentence_bleu)
from .classification import (iou_per_class, mean_iou, accuracy, accuracy_score, balanced_accuracy_score,
                             classification_report, confusion_matrix,
                             f1_score, fbeta_score, precision, precision_recall_fscore_support,
                             precision_score, recall, recall_score, scores_from_counts,
                             sensitivity, specificity, top_k_accuracy, tpr, true_negative_rate,
                             true_positive_rate)
from .calibration import ReliabilityBins, expected_calibration_error, reliability_bins
from .information import cross_entropy, entropy, kl_divergence, log_loss, perplexity
from .ranking import (auc, average_precision_score, precision_recall_curve, roc_auc_score,
                      roc_curve)
from .regression import (mean_absolute_error, mean_squared_error, r2_score,
                         root_mean_squared_error)
from .report import evaluation_report, softmax
from .streaming import Accuracy, ConfusionMatrix, Mean, Metric

__all__ = [
    "evaluation_report", "softmax",
    "iou_per_class", "mean_iou",
    "UndefinedMetricWarning",
    "accuracy", "accuracy_score", "balanced_accuracy_score", "top_k_accuracy", "confusion_matrix", "precision",
    "precision_score", "recall", "recall_score", "sensitivity", "true_positive_rate", "tpr",
    "specificity", "true_negative_rate", "f1_score", "fbeta_score",
    "precision_recall_fscore_support", "classification_report", "scores_from_counts",
    "roc_curve", "roc_auc_score", "auc", "precision_recall_curve", "average_precision_score",
    "log_loss", "entropy", "cross_entropy", "kl_divergence", "perplexity",
    "expected_calibration_error", "reliability_bins", "ReliabilityBins",
    "mean_squared_error", "root_mean_squared_error", "mean_absolute_error", "r2_score",
    "corpus_bleu", "sentence_bleu", "bleu", "bleu_statistics", "bleu_from_statistics",
    "BleuResult",
    "Metric", "Mean", "Accuracy", "ConfusionMatrix",
]
