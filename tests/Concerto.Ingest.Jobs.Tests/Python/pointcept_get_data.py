"""Reads every sample of a Pointcept-layout dataset the way Pointcept's DefaultImagePointDataset.get_data does
(pointcept/datasets/defaults.py, Pointcept/Pointcept on GitHub): split files under DATA_ROOT/splits, paths in them opened
as written, relative to the working directory (a Pointcept checkout); point-cloud assets np.load-ed from the listed
folder; images opened with PIL, centre-cropped to a whole multiple of the patch grid and resized; correspondences
loaded, cropped and mapped to patch coordinates. Prints a JSON summary; exits non-zero on the first sample that
would fail in Pointcept.

usage: python3 pointcept_get_data.py DATA_ROOT CROP_H CROP_W PATCH_SIZE
"""
import json
import os
import sys

import numpy as np
from PIL import Image

PC_VALID_ASSETS = ["coord", "color", "normal", "superpoint", "pose", "segment", "instance", "strength"]


def resize_correspondence(correspondence, size, crop_box, alignment):
    h, w = size
    left, top, right, bottom = crop_box
    crop_h, crop_w = bottom - top, right - left
    keep = (correspondence[:, 1] >= top) & (correspondence[:, 1] < bottom) & (correspondence[:, 0] >= left) & (correspondence[:, 0] < right)
    correspondence = correspondence[keep]
    correspondence[:, 1] -= top
    correspondence[:, 0] -= left
    correspondence[:, 1] = (correspondence[:, 1] * h / crop_h / alignment).astype(np.float32)
    correspondence[:, 0] = (correspondence[:, 0] * w / crop_w / alignment).astype(np.float32)
    correspondence = correspondence[:, [1, 0, 2]]
    return np.unique(correspondence, axis=0)


def get_data(entry, patch_h, patch_w, patch_size):
    data = {}
    for asset in os.listdir(entry["pointclouds"]):
        if asset.endswith(".npy") and asset[:-4] in PC_VALID_ASSETS:
            data[asset[:-4]] = np.load(os.path.join(entry["pointclouds"], asset))
    images = [Image.open(path) for path in entry["images"]]
    width, height = images[0].size
    div = max(min(width // patch_w, height // patch_h), 1)
    crop_w, crop_h = div * patch_w, div * patch_h
    left, top = int((width - crop_w) / 2), int((height - crop_h) / 2)
    right, bottom = int((width + crop_w) / 2), int((height + crop_h) / 2)
    images = [np.asarray(img.convert("RGB").crop((left, top, right, bottom)).resize((patch_w * patch_size, patch_h * patch_size), Image.BILINEAR))
              for img in images]
    n = data["coord"].shape[0]
    infos = np.ones((n, len(entry["correspondences"]), 2), dtype=np.float32) * -1
    for i, path in enumerate(entry["correspondences"]):
        info = np.load(path).astype(np.float32)
        if np.array_equal(info, -np.ones((1, 3))):
            continue
        info = resize_correspondence(info, (patch_h * patch_size, patch_w * patch_size), (left, top, right, bottom), patch_size)
        infos[info[:, -1].astype(np.int32), i, :] = info[:, :-1]
    data["correspondence"] = infos
    data["images"] = images
    for key in ("coord", "color", "normal"):
        data[key] = data[key].astype(np.float32)
    data["segment"] = data["segment"].reshape([-1]).astype(np.int32) if "segment" in data else np.ones(n, dtype=np.int32) * -1
    data["instance"] = data["instance"].reshape([-1]).astype(np.int32) if "instance" in data else np.ones(n, dtype=np.int32) * -1
    return data


def main():
    data_root, crop_h, crop_w, patch_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    patch_h, patch_w = crop_h // patch_size, crop_w // patch_size
    summary = {"samples": 0, "points": 0, "images": 0, "corresponded_points": 0, "splits": {}, "labelled_points": 0, "instances_none": 0}
    for name in sorted(os.listdir(os.path.join(data_root, "splits"))):
        with open(os.path.join(data_root, "splits", name), "r", encoding="utf-8") as f:
            entries = json.load(f)
        summary["splits"][name[:-5]] = len(entries)
        for key, entry in entries.items():
            data = get_data(entry, patch_h, patch_w, patch_size)
            n = data["coord"].shape[0]
            assert data["coord"].shape == (n, 3), (key, data["coord"].shape)
            assert data["color"].shape == (n, 3) and data["normal"].shape == (n, 3), key
            assert data["segment"].shape == (n,) and data["instance"].shape == (n,), key
            assert data["instance"].min() >= -1 and data["segment"].min() >= -1, (key, data["instance"].min(), data["segment"].min())
            seen = data["correspondence"][:, :, 0] >= 0
            rows, cols = data["correspondence"][:, :, 0][seen], data["correspondence"][:, :, 1][seen]
            assert rows.size == 0 or (rows.max() < patch_h and cols.max() < patch_w and cols.min() >= 0), key
            summary["samples"] += 1
            summary["points"] += int(n)
            summary["images"] += len(data["images"])
            summary["corresponded_points"] += int(seen.any(axis=1).sum())
            summary["labelled_points"] += int((data["segment"] >= 0).sum())
            summary["instances_none"] += int((data["instance"] == -1).sum())
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
