"""``nerve.viz``: pictures for diagnosing training, written as PNG files.

* ``plot_learning_curves(history, path)``: loss and metrics per epoch, training vs validation;
* ``plot_roc(fpr, tpr, auc, path)``, ``plot_roc_ovr(y_true, y_score, path)``: ROC curves;
* ``plot_pr_curve(precision, recall, path)``: the precision-recall curve;
* ``plot_confusion_matrix(cm, class_names, path, normalize)``: a heatmap with counts;
* ``plot_activations(path, names)``: activations and their autograd derivatives;
* ``draw_graph(tensor, path)``: the autograd graph as DOT (and PNG with Graphviz);
* ``plot_graph(graph, path, labels)``: a node-link picture of a graph, coloured by class;
* ``plot_reliability_diagram(y_true, prob, path)``: accuracy against confidence, with the ECE;
* ``save_filters(model, path)``, ``save_feature_maps(model, x, layer, path)``: what a CNN's
  first-layer kernels look like, and what one input looks like at a chosen layer;
* ``plot_attention(weights, path)``: attention weights as heatmaps, one panel per head;
* ``ascii_image(image)``: a grayscale image as text, for a terminal;
* ``plot_lr_range``, ``plot_capacity``, ``plot_probes``, ``plot_search``: pictures of
  ``nerve.tune`` results (LR range test, capacity sweep, linear probes, a sweep's table).
* ``latent_scatter(z2d, labels, path)``, ``interpolate(model, z0, z1, steps)``,
  ``save_samples(model, path)``, ``save_reconstructions(model, x, path)``: latent spaces of
  autoencoders, VAEs and GANs.

matplotlib is needed only when a plot is drawn (``pip install 'nerve[plot]'``); importing
this package does not import it. Every writer saves to a temporary file and renames it into
place, so an interrupted plot never leaves a broken PNG, and returns the path written.
"""
from .attention import plot_attention
from .activations import DEFAULT_ACTIVATIONS, activation_and_derivative, plot_activations
from .features import (default_feature_layer, feature_maps, filters, first_conv, layer_trace,
                       save_feature_maps, save_filters)
from .graph import GraphFiles, draw_graph
from .network import graph_layout, plot_graph
from .calibration import plot_reliability_diagram
from .latent import interpolate, interpolate_codes, latent_scatter, save_reconstructions, save_samples
from .terminal import ascii_image, save_predictions
from .tuning import plot_capacity, plot_lr_range, plot_probes, plot_search
from .plots import (plot_confusion_matrix, plot_learning_curves, plot_pr_curve, plot_roc,
                    plot_roc_ovr, save_evaluation_plots)

plot_history = plot_learning_curves  # the glossary's name for the same plot (training and validation curves)

__all__ = ["plot_learning_curves", "plot_roc", "plot_roc_ovr", "plot_pr_curve",
           "plot_graph", "graph_layout", "plot_reliability_diagram",
           "plot_confusion_matrix", "plot_activations", "activation_and_derivative",
           "DEFAULT_ACTIVATIONS", "draw_graph", "GraphFiles", "filters", "first_conv", "feature_maps",
           "save_filters", "save_feature_maps", "ascii_image", "save_predictions", "save_evaluation_plots",
           "layer_trace", "default_feature_layer", "plot_attention", "plot_lr_range", "plot_capacity", "plot_probes",
           "plot_search", "plot_history",
           "latent_scatter", "interpolate", "interpolate_codes", "save_samples", "save_reconstructions"]
