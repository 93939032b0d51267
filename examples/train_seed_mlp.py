"""Train the 784-16-16-10 seed network on MNIST with the Trainer, step by step.

The loop ``nerve train`` runs, written out without its two extras (ELU units and random
one-pixel shifts, worth about half a point of test accuracy): load the digits, hold out a
validation part, standardize the pixels, fit with Adam and a cosine schedule, keep
checkpoints and stop early, then report test accuracy. Without the MNIST files (and no
network) it uses the bundled scikit-learn digits, resized to 28x28.

    python examples/train_seed_mlp.py [--epochs 12] [--out runs/example]
"""
import argparse
from pathlib import Path

import numpy as np

import nerve as nv
from nerve import models, nn, optim
from nerve.data import DataLoader, TensorDataset
from nerve.data.datasets import MNIST, DatasetFileError, Digits28
from nerve.train import CSVLogger, EarlyStopping, ModelCheckpoint, ProgressBar, Trainer


def load_digits():
    try:
        return MNIST(train=True), MNIST(train=False)
    except (DatasetFileError, OSError) as e:
        print(f"MNIST unavailable ({str(e).splitlines()[0]}); using Digits28")
        return Digits28(train=True), Digits28(train=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--out", default="runs/example")
    args = parser.parse_args()

    nv.manual_seed(0)
    train_set, test_set = load_digits()
    x, y = train_set.data, train_set.targets            # (N, 1, 28, 28) in [0, 1], (N,)
    order = np.random.default_rng(0).permutation(len(y))
    val_idx, train_idx = order[: len(y) // 20], order[len(y) // 20:]
    mean, std = x[train_idx].mean(), x[train_idx].std()  # statistics of the training part only

    def standardized(a):
        return ((a - mean) / std).astype(np.float32)

    train = DataLoader(TensorDataset(standardized(x[train_idx]), y[train_idx]), batch_size=64,
                       shuffle=True, seed=0)
    val = DataLoader(TensorDataset(standardized(x[val_idx]), y[val_idx]), batch_size=1000)
    test = DataLoader(TensorDataset(standardized(test_set.data), test_set.targets), batch_size=1000)

    model = models.get_model("seed-mlp")                 # Flatten, 784-16-16-10 with ReLU
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    trainer = Trainer(
        model, optimizer, nn.CrossEntropyLoss(),
        scheduler=optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs),
        callbacks=[ProgressBar(), CSVLogger(out / "history.csv"),
                   ModelCheckpoint(out / "checkpoints", monitor="val_accuracy"),
                   EarlyStopping(monitor="val_loss", patience=4, restore_best_weights=True)])
    trainer.fit(train, epochs=args.epochs, val_loader=val)
    result = trainer.evaluate(test)
    print(f"test accuracy {100 * result['accuracy']:.2f} %, test loss {result['loss']:.4f}")
    nv.io.save_state_dict(model, out / "model.safetensors")
    # To continue later from the last epoch, exactly:
    #   trainer.fit(train, epochs=20, val_loader=val, resume_from=out / "checkpoints" / "last")


if __name__ == "__main__":
    main()
