"""nerve.keras: the seed's CNN (51,382,538 parameters), summary layout, fit/evaluate/predict, and the
facade training to the same weights as a hand-written nerve model under the Trainer."""
import numpy as np
import pytest

import nerve as nv
from nerve import data, keras, nn, optim
from nerve.keras import layers
from nerve.train import EarlyStopping, Trainer


def seed_cnn():
    return keras.Sequential([
        layers.Conv2D(32, (3, 3), strides=(1, 1), padding="same", activation="relu", input_shape=(224, 224, 3)),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax")])


def test_seed_cnn_counts_51382538_parameters_and_summary_layout():
    model = seed_cnn()
    assert model.count_params() == 51_382_538
    assert model.output_shape == (None, 10)
    lines = []
    text = model.summary(print_fn=lines.append)
    assert lines == [text]
    rows = text.splitlines()
    assert rows[0] == 'Model: "sequential"' and rows[2].split() == ["Layer", "(type)", "Output", "Shape", "Param", "#"]
    body = [r for r in rows if r.startswith(" ") and "(" in r and "Layer" not in r]
    assert [r.split()[0] for r in body] == ["conv2d", "max_pooling2d", "flatten", "dense", "dense_1"]
    assert "(None, 224, 224, 32)" in body[0] and body[0].rstrip().endswith("896")
    assert "(None, 112, 112, 32)" in body[1] and "(None, 401408)" in body[2]
    assert body[3].rstrip().endswith("51,380,352") and body[4].rstrip().endswith("1,290")
    assert body[0].index("(None") == 29 and body[0].index("896") == 55      # Keras's column stops
    assert "Total params: 51,382,538" in rows and "Trainable params: 51,382,538" in rows
    assert "Non-trainable params: 0" in rows
    # global average pooling instead of Flatten: 6,410 (glossary row 25)
    gap = keras.Sequential([layers.Conv2D(32, 3, padding="same", activation="relu", input_shape=(224, 224, 3)),
                            layers.MaxPooling2D(2), layers.GlobalAveragePooling2D(),
                            layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")])
    assert gap.count_params() == 896 + 32 * 128 + 128 + 1290 == 6_410
    assert keras.Sequential([layers.Conv2D(32, 3, padding="same", input_shape=(224, 224, 3)),
                             layers.GlobalAveragePooling2D(), layers.Dense(10)]).count_params() == 896 + 330


def test_built_modules_match_the_counted_shapes():
    model = keras.Sequential([keras.Input((9, 7, 2)), layers.Conv2D(5, 3, strides=2, padding="same", activation="relu"),
                              layers.BatchNormalization(), layers.Conv2D(4, (2, 3)), layers.Flatten(),
                              layers.Dropout(0.2), layers.Dense(3)])
    x = np.random.default_rng(0).normal(size=(2, 9, 7, 2)).astype(np.float32)
    net = model.build()
    net.eval()
    out = model(x)
    assert out.shape == (2, 3)
    built = sum(p.numel() for p in net.parameters()) + sum(b.numel() for n, b in net.named_buffers()
                                                            if "running" in n)
    assert built == model.count_params() == (3 * 3 * 2 * 5 + 5) + 4 * 5 + (2 * 3 * 5 * 4 + 4) + (4 * 2 * 4 * 3 + 3)
    # 'same' with stride 2 on 9x7: ceil(9/2) x ceil(7/2) = 5 x 4; Keras pads the odd pixel bottom/right
    assert [s for _, _, s in model._shapes()][:3] == [(5, 4, 5), (5, 4, 5), (4, 2, 4)]


def test_max_pooling_same_padding():
    model = keras.Sequential([keras.Input((3, 5, 1)), layers.MaxPooling2D(2, padding="same")])
    x = -np.arange(15, dtype=np.float32).reshape(1, 3, 5, 1)           # all negative: padding must not win
    out = model.predict(x, verbose=0)
    assert out.shape == (1, 2, 3, 1)                                    # channels last, as Keras returns it
    assert model.output_shape == (None, 2, 3, 1)
    # windows [0:2, 0:2], [0:2, 2:4], [0:2, 4:5], [2:3, 0:2] ...; the max of negatives is the first
    assert out.reshape(-1).tolist() == [0.0, -2.0, -4.0, -10.0, -12.0, -14.0]
    two = keras.Sequential([keras.Input((4, 4, 2)), layers.MaxPooling2D(2)])
    img = np.random.default_rng(0).normal(size=(1, 4, 4, 2)).astype(np.float32)
    assert np.array_equal(two.predict(img, verbose=0)[0, 1, 0], img[0, 2:4, 0:2].max(axis=(0, 1)))
    with pytest.raises(ValueError, match="padding"):
        layers.AveragePooling2D(2, padding="same")


def test_flatten_uses_keras_channels_last_order():
    model = keras.Sequential([keras.Input((2, 2, 3)), layers.Flatten()])
    x = np.arange(12, dtype=np.float32).reshape(1, 2, 2, 3)
    assert model.predict(x, verbose=0).tolist() == [list(range(12))]      # (h, w, c) order, untouched


def test_glorot_init_and_bad_input():
    nv.manual_seed(0)
    model = keras.Sequential([layers.Dense(300, input_shape=(200,))])
    w, b = model.get_weights()
    limit = np.sqrt(6 / (200 + 300))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit and not b.any()
    with pytest.raises(ValueError, match="Flatten"):
        keras.Sequential([layers.Dense(3, input_shape=(4, 4, 1))])
    with pytest.raises(ValueError, match="padding"):
        layers.Conv2D(3, 3, padding="full")
    with pytest.raises(ValueError, match="unknown activation"):
        layers.Dense(3, activation="swishy")
    with pytest.raises(ValueError, match="input shape"):
        keras.Sequential([layers.Dense(3)]).build()
    m = keras.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match="compile"):
        m.fit(np.zeros((4, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="unknown loss"):
        m.compile(optimizer="adam", loss="hinge_of_doom")
    with pytest.raises(ValueError, match="unknown optimizer"):
        m.compile(optimizer="adamw9", loss="mse")
    m.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="channels last"):
        m.fit(np.zeros((4, 5)), np.zeros((4, 2)), verbose=0)


def _blobs(n=96, seed=0):
    r = np.random.default_rng(seed)
    y = r.integers(0, 3, n)
    x = r.normal(size=(n, 6, 6, 1)).astype(np.float32) * 0.5
    x[np.arange(n), 2 * y, 2 * y, 0] += 3.0
    return x, y


def test_fit_history_evaluate_predict():
    nv.manual_seed(0)
    x, y = _blobs()
    model = keras.Sequential([layers.Conv2D(4, 3, padding="same", activation="relu", input_shape=(6, 6, 1)),
                              layers.Flatten(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=8, batch_size=16, validation_split=0.25, verbose=0)
    assert sorted(hist.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(hist.history["loss"]) == 8 and hist.history["loss"][-1] < hist.history["loss"][0]
    loss, acc = model.evaluate(x[72:], y[72:], verbose=0)
    assert loss == pytest.approx(hist.history["val_loss"][-1], rel=1e-5) and acc > 0.8
    p = model.predict(x, verbose=0)
    assert p.shape == (96, 3) and np.allclose(p.sum(1), 1, atol=1e-5)
    probs = np.clip(p[72:][np.arange(24), y[72:]], 1e-7, 1)
    assert -np.log(probs).mean() == pytest.approx(loss, rel=1e-4)        # the loss Keras defines
    one_hot = np.eye(3, dtype=np.float32)[y]
    model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    assert model.evaluate(x[72:], one_hot[72:], verbose=0)[0] == pytest.approx(loss, rel=1e-5)
    stop = keras.Sequential([layers.Dense(1, input_shape=(6,))])
    stop.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    h = stop.fit(np.ones((8, 6)), np.ones(8), epochs=20, validation_split=0.5, verbose=0,
                 callbacks=[EarlyStopping(patience=1)])
    assert len(h.history["loss"]) == 2                   # nothing improves after the first epoch


def test_binary_crossentropy_from_sigmoid():
    nv.manual_seed(1)
    r = np.random.default_rng(1)
    x = r.normal(size=(64, 2)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.float32)
    model = keras.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(2,))])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=15, batch_size=16, verbose=0)
    loss, acc = model.evaluate(x, y, verbose=0)
    p = model.predict(x, verbose=0)[:, 0]
    assert acc > 0.9 and acc == pytest.approx(np.mean((p > 0.5) == (y > 0.5)))
    assert loss == pytest.approx(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)), rel=1e-4)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_facade_and_hand_written_trainer_end_with_identical_weights(kind):
    x, y = _blobs(64, seed=2)
    nv.manual_seed(7)
    if kind == "mlp":
        model = keras.Sequential([layers.Flatten(input_shape=(6, 6, 1)), layers.Dense(8, activation="relu"),
                                  layers.Dropout(0.25), layers.Dense(3, activation="softmax")])
    else:
        model = keras.Sequential([layers.Conv2D(4, 3, activation="relu", input_shape=(6, 6, 1)),
                                  layers.GlobalAveragePooling2D(), layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    facade = model.get_weights()

    # The same model by hand: modules created and initialized in the same order, Keras's Adam
    # settings, the logits trained with cross-entropy, batches from a shuffling DataLoader.
    nv.manual_seed(7)

    def glorot(m):
        nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)
        return m

    if kind == "mlp":
        lin1 = glorot(nn.Linear(36, 8))
        lin2 = glorot(nn.Linear(8, 3))
        net = nn.Sequential(nn.Flatten(), lin1, nn.ReLU(), nn.Dropout(0.25), lin2)
        xs = x.reshape(64, 36)
    else:
        conv = glorot(nn.Conv2d(1, 4, 3))
        lin = glorot(nn.Linear(4, 3))
        net = nn.Sequential(conv, nn.ReLU(), nn.GlobalAvgPool2d(), lin)
        xs = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    trainer = Trainer(net, optim.Adam(net.parameters(), lr=1e-3, eps=1e-7), nn.CrossEntropyLoss())
    trainer.fit(data.DataLoader(data.TensorDataset(xs, y.astype(np.int64)), batch_size=16, shuffle=True), epochs=3)
    hand = [p.numpy() for p in net.parameters()]
    assert len(hand) == len(facade)
    for a, b in zip(facade, hand):
        assert np.array_equal(a, b)
    assert not np.array_equal(facade[0], np.zeros_like(facade[0]))


def test_export_onnx_runs_channels_last_in_onnxruntime(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    nv.manual_seed(4)
    model = keras.Sequential([layers.Conv2D(4, 3, strides=2, padding="same", activation="relu", input_shape=(9, 9, 2)),
                              layers.BatchNormalization(), layers.MaxPooling2D(2), layers.Flatten(),
                              layers.Dense(5, activation="softmax")])
    model.export_onnx(tmp_path / "k.onnx", input_names=["image"], output_names=["probs"],
                      dynamic_axes={"image": {0: "n"}, "probs": {0: "n"}})
    x = np.random.default_rng(0).normal(size=(3, 9, 9, 2)).astype(np.float32)
    got = ort.InferenceSession(str(tmp_path / "k.onnx"), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
    assert np.allclose(got, model.predict(x, verbose=0), atol=1e-5)
    fmaps = keras.Sequential([keras.Input((5, 7, 1)), layers.Conv2D(2, 3, padding="same"),
                              layers.MaxPooling2D(2, padding="same")])
    fmaps.export_onnx(tmp_path / "f.onnx")
    x = np.random.default_rng(1).normal(size=(1, 5, 7, 1)).astype(np.float32)
    got = ort.InferenceSession(str(tmp_path / "f.onnx"), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    assert got.shape == (1, 3, 4, 2) and np.allclose(got, fmaps.predict(x, verbose=0), atol=1e-5)
