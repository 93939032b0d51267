"""``nerve.classic``: classic machine learning with scikit-learn's estimator contract.

Every estimator has ``fit``/``predict`` (and ``decision_function``, ``predict_proba``,
``transform`` where they mean something), ``score``, ``get_params``/``set_params`` and fitted
attributes ending in ``_``, so scikit-learn's ``clone``, ``Pipeline``, ``GridSearchCV`` and
``cross_val_score`` accept them. scikit-learn itself is never imported here (it is a test oracle
and an optional extra); the estimators need NumPy and nerve only.

* linear models: :class:`Ridge` (closed form or SGD), :class:`Lasso`, :class:`ElasticNet`
  (coordinate descent), :class:`LogisticRegression`, :class:`SoftmaxRegression`;
* margin classifiers: :class:`Perceptron` (Rosenblatt's rule), :class:`LinearSVM` (hinge loss
  through nerve's autograd), :class:`KernelSVM` (SMO);
* sparse coding: :class:`SparseCoder` (ISTA/FISTA), :class:`DictionaryLearning`;
* collaborative filtering: :class:`MatrixFactorization`, :func:`make_ratings`;
* networks as estimators: :class:`NeuralNetClassifier`, :class:`NeuralNetRegressor`.

    >>> import numpy as np
    >>> from nerve.classic import Ridge
    >>> Ridge(alpha=1.0).fit(np.eye(3), [1.0, 2.0, 3.0]).predict(np.eye(3)).round(3).tolist()
    [1.5, 2.0, 2.5]
"""
from .base import (BaseEstimator, ClassifierMixin, ConvergenceWarning, DataConversionWarning,
                   NotFittedError, RegressorMixin, TransformerMixin)
from .linear import ElasticNet, Lasso, Ridge, soft_threshold
from .logistic import LogisticRegression, SoftmaxRegression
from .perceptron import Perceptron
from .factorization import MatrixFactorization, make_ratings
from .neural import MLP, NeuralNetClassifier, NeuralNetRegressor
from .sparse import DictionaryLearning, SparseCoder, sparse_encode
from .svm import KernelSVM, LinearSVM, kernel_matrix

__all__ = ["BaseEstimator", "ClassifierMixin", "RegressorMixin", "TransformerMixin",
           "NotFittedError", "ConvergenceWarning", "DataConversionWarning",
           "Ridge", "Lasso", "ElasticNet", "soft_threshold", "LogisticRegression",
           "SoftmaxRegression", "Perceptron", "LinearSVM", "KernelSVM", "kernel_matrix",
           "SparseCoder", "DictionaryLearning", "sparse_encode", "MatrixFactorization",
           "make_ratings", "NeuralNetClassifier", "NeuralNetRegressor", "MLP"]
