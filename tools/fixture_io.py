"""Reader/writer for the alexnet-ts fixture format (shared by every tools/gen_*_fixtures.py; TS side: test/helpers/fixture.ts).

A fixture file is a named set of tensors plus scalars and free-form metadata:

    bytes 0..7     ASCII magic b"ALXFIX1\\n"
    bytes 8..15    H = header length in bytes, uint64 little-endian
    bytes 16..16+H JSON header (UTF-8), padded with spaces so that 16+H is a multiple of 8:
                   {"generated_by": "tools/gen_x.py: how/with what",   <- always the first field
                    "meta":    {...any JSON...},
                    "scalars": {"name": number, ...},
                    "tensors": [{"name": str, "dtype": "f32"|"i32", "shape": [int,...],
                                 "offset": int, "nbytes": int}, ...]}
    bytes 16+H..   data: each tensor little-endian, row-major (C order), at `offset` bytes from the
                   start of the data section; offsets are multiples of 8.

Usage:
    from fixture_io import write_fixture, read_fixture
    write_fixture("x.bin", {"x": tensor_or_ndarray, "labels": int_tensor}, scalars={"loss": 1.5},
                  meta={"seed": 0}, generated_by="tools/gen_op_fixtures.py: torch 1.13 conv2d ...")
    fx = read_fixture("x.bin")   # {"generated_by", "meta", "scalars", "tensors": {name: ndarray}}
Floating tensors are stored as float32, integer tensors as int32 (range-checked).
"""
import json
import struct

import numpy as np

MAGIC = b"ALXFIX1\n"


def _as_array(v):
    if hasattr(v, "detach"):  # torch.Tensor without importing torch here
        v = v.detach().cpu().numpy()
    a = np.asarray(v)
    if a.dtype.kind == "f":
        return np.ascontiguousarray(a, dtype="<f4"), "f32"
    if a.dtype.kind in "iub":
        if a.size and (a.min() < -(2 ** 31) or a.max() >= 2 ** 31):
            raise ValueError("integer tensor out of int32 range")
        return np.ascontiguousarray(a, dtype="<i4"), "i32"
    raise TypeError(f"unsupported dtype {a.dtype}")


def write_fixture(path, tensors, scalars=None, meta=None, generated_by=None):
    if not generated_by:
        raise ValueError("generated_by is required (which script produced this and how)")
    entries, blobs, off = [], [], 0
    for name, v in tensors.items():
        a, dt = _as_array(v)
        b = a.tobytes()
        entries.append({"name": name, "dtype": dt, "shape": list(a.shape), "offset": off, "nbytes": len(b)})
        pad = (-len(b)) % 8
        blobs.append(b + b"\0" * pad)
        off += len(b) + pad
    sc = {}
    for k, v in (scalars or {}).items():
        sc[k] = float(v.item() if hasattr(v, "item") else v)
    header = {"generated_by": generated_by, "meta": meta or {}, "scalars": sc, "tensors": entries}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((-(16 + len(h))) % 8)
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<Q", len(h)) + h + b"".join(blobs))
    return 16 + len(h) + off


def read_fixture(path):
    with open(path, "rb") as f:
        buf = f.read()
    if buf[:8] != MAGIC:
        raise ValueError(f"{path}: not an alexnet-ts fixture (bad magic)")
    (hlen,) = struct.unpack("<Q", buf[8:16])
    header = json.loads(buf[16:16 + hlen].decode("utf-8"))
    base = 16 + hlen
    out = {}
    for e in header["tensors"]:
        dt = "<f4" if e["dtype"] == "f32" else "<i4"
        a = np.frombuffer(buf, dtype=dt, count=e["nbytes"] // 4, offset=base + e["offset"])
        out[e["name"]] = a.reshape(e["shape"]).copy()
    return {"generated_by": header["generated_by"], "meta": header["meta"], "scalars": header["scalars"], "tensors": out}


if __name__ == "__main__":  # python3 tools/fixture_io.py FILE: print a summary
    import sys
    fx = read_fixture(sys.argv[1])
    print("generated_by:", fx["generated_by"])
    print("meta:", json.dumps(fx["meta"]))
    for k, v in fx["scalars"].items():
        print(f"scalar {k} = {v}")
    for k, a in fx["tensors"].items():
        print(f"tensor {k} {a.dtype} {list(a.shape)}")
