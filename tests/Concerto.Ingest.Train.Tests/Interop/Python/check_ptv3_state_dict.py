"""Checks an encoder exported by `concerto export checkpoint` with real PyTorch (Debian's python3-torch):
torch.load reads it; its state dict has exactly the official PT-v3m2 parameter names and shapes (the list in TSV);
its config carries PointTransformerV3's keyword arguments; the sparse-conv weight in spconv's [out, 3, 3, 3, in] layout,
applied as a dense torch conv3d (cross-correlation, zero padding: a fully occupied grid is where a submanifold conv and
a dense conv agree) gives the outputs our convolution gave; then writes the state dict back with torch.save (BACK) and
a damaged copy (BAD: one tensor missing, one reshaped) for the reader to refuse.

usage: python3 check_ptv3_state_dict.py MODEL.pth PARAMS.tsv CONV_KEY FEATURES.npy OUTPUT.npy SIDE BACK.pth BAD.pth
"""
import collections
import json
import sys

import numpy as np
import torch

model, tsv, conv_key, features_path, output_path, side, back, bad = sys.argv[1:9]
side = int(side)
ckpt = torch.load(model, map_location="cpu")
assert set(ckpt.keys()) == {"config", "state_dict"}, sorted(ckpt.keys())
state = ckpt["state_dict"]
expected = collections.OrderedDict()
for line in open(tsv, encoding="utf-8"):
    if line.startswith("#") or not line.strip():
        continue
    name, shape = line.rstrip("\n").split("\t")
    expected[name] = tuple(int(v) for v in shape.split(","))
missing = [k for k in expected if k not in state]
unexpected = [k for k in state if k not in expected]
wrong = [(k, tuple(state[k].shape), expected[k]) for k in expected if k in state and tuple(state[k].shape) != expected[k]]
assert not missing and not unexpected and not wrong, (missing[:5], unexpected[:5], wrong[:5])
assert all(v.dtype == torch.float32 for v in state.values())
config = ckpt["config"]
assert tuple(config["enc_depths"]) == (1, 1, 1, 3, 1) and tuple(config["enc_channels"]) == (16, 32, 64, 128, 256), config
assert config["in_channels"] == 9 and config["enc_mode"] is True and config["mask_token"] is True, config

# The sparse conv's layout and kernel-offset order against torch's own conv3d.
weight, bias = state[conv_key + ".weight"], state[conv_key + ".bias"]
features = torch.from_numpy(np.load(features_path))             # [side^3, in], voxels in x-major order (x, y, z)
ours = torch.from_numpy(np.load(output_path))                     # [side^3, out]
dense = features.T.reshape(1, -1, side, side, side)               # [1, in, x, y, z]
conv = torch.nn.functional.conv3d(dense, weight.permute(0, 4, 1, 2, 3), bias, padding=1)
theirs = conv.reshape(weight.shape[0], -1).T
conv_error = float((theirs - ours).abs().max())
assert conv_error <= 1e-4, conv_error

torch.save({"config": config, "state_dict": collections.OrderedDict((k, v.clone()) for k, v in state.items())}, back)
damaged = collections.OrderedDict((k, v.clone()) for k, v in state.items())
del damaged["enc.enc3.block2.attn.proj.weight"]
damaged["enc.enc1.down.proj.weight"] = damaged["enc.enc1.down.proj.weight"].T.contiguous()
torch.save({"config": config, "state_dict": damaged}, bad)
print(json.dumps({"tensors": len(state), "parameters": int(sum(v.numel() for v in state.values())), "conv_max_abs_error": conv_error,
                  "torch": torch.__version__}))
