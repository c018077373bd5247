"""PyTorch side of bench/train-throughput: the issue's 28x28 CNN, driven over stdin/stdout.

Started by run.ts with the data folder (x.u8: n*784 uint8 images, y.u8: n labels, test.u8: test
images) and a thread count. Reads one JSON command per line, answers one JSON line each:
  {"cmd": "train", "steps": S, "batch": B, "start": K}  -> {"images_per_s": ..., "loss": ...}
  {"cmd": "infer", "batch": B}                          -> {"images_per_s": ...}
  {"cmd": "quit"}
"""
import json
import sys
import time

import numpy as np
import torch
from torch import nn


def model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 5 * 5, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10),
    )


def main() -> None:
    folder, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = torch.from_numpy(np.fromfile(f"{folder}/x.u8", dtype=np.uint8).reshape(-1, 1, 28, 28))
    y = torch.from_numpy(np.fromfile(f"{folder}/y.u8", dtype=np.uint8).astype(np.int64))
    test = torch.from_numpy(np.fromfile(f"{folder}/test.u8", dtype=np.uint8).reshape(-1, 1, 28, 28))
    net = model()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            break
        if cmd["cmd"] == "train":
            net.train()
            batch, n = cmd["batch"], x.shape[0]
            loss = torch.zeros(())
            started = time.perf_counter()
            for s in range(cmd["steps"]):
                lo = ((cmd["start"] + s) * batch) % (n - batch + 1)
                xb = x[lo:lo + batch].float().div_(255)
                optimizer.zero_grad()
                loss = loss_fn(net(xb), y[lo:lo + batch])
                loss.backward()
                optimizer.step()
            elapsed = time.perf_counter() - started
            print(json.dumps({"images_per_s": cmd["steps"] * batch / elapsed, "loss": loss.item()}), flush=True)
        elif cmd["cmd"] == "infer":
            net.eval()
            batch = cmd["batch"]
            started = time.perf_counter()
            with torch.inference_mode():
                for lo in range(0, test.shape[0], batch):
                    net(test[lo:lo + batch].float().div_(255))
            elapsed = time.perf_counter() - started
            print(json.dumps({"images_per_s": test.shape[0] / elapsed}), flush=True)


if __name__ == "__main__":
    main()
