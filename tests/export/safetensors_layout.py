"""Independent check of pgolf's safetensors files, using only json and struct (no safetensors
package): parses a file by hand the way the format is specified and prints what it found, or
writes a file by hand for pgolf to read.

  safetensors_layout.py check FILE   -> prints one JSON object:
      {"metadata": {...}, "tensors": {name: {"dtype", "shape", "values"}}}
      after asserting: 8-byte little-endian header length, JSON header, data 8-byte aligned,
      offsets contiguous from 0 to the end of the file, each tensor aligned to its element
      size, byte counts matching dtype x shape.
  safetensors_layout.py write FILE   -> writes a file with known tensors, listed in an order
      different from the data order and with an unpadded header (both legal).
"""
import json
import struct
import sys

SIZES = {"F32": 4, "BF16": 2, "F16": 2, "I64": 8, "I32": 4, "U16": 2, "U8": 1, "BOOL": 1}
FORMATS = {"F32": "f", "F16": "e", "I64": "q", "I32": "i", "U16": "H", "U8": "B", "BOOL": "?"}


def printable(v):
    # JSON has no NaN or infinity: those travel as the strings "nan", "inf", "-inf".
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return str(v)
    return v


def decode(dtype, raw):
    n = len(raw) // SIZES[dtype]
    if dtype == "BF16":
        words = struct.unpack("<%dH" % n, raw)
        return [printable(struct.unpack("<f", struct.pack("<I", w << 16))[0]) for w in words]
    values = list(struct.unpack("<%d%s" % (n, FORMATS[dtype]), raw))
    return [int(v) if dtype == "BOOL" else printable(v) for v in values]


def check(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    data = blob[8 + n :]
    assert (8 + n) % 8 == 0, "data section is not 8-byte aligned"
    meta = header.pop("__metadata__", {})
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items())
    spans = sorted((info["data_offsets"][0], info["data_offsets"][1], name) for name, info in header.items())
    pos = 0
    for begin, end, name in spans:
        assert begin == pos, "gap or overlap before %s" % name
        pos = end
    assert pos == len(data), "data section has %d bytes, tensors cover %d" % (len(data), pos)
    out = {}
    for name, info in header.items():
        dtype, shape = info["dtype"], info["shape"]
        begin, end = info["data_offsets"]
        count = 1
        for d in shape:
            count *= d
        assert end - begin == count * SIZES[dtype], "size mismatch for %s" % name
        assert begin % SIZES[dtype] == 0, "%s is not aligned to its element size" % name
        out[name] = {"dtype": dtype, "shape": shape, "values": decode(dtype, data[begin:end])}
    print(json.dumps({"metadata": meta, "tensors": out}))


def write(path):
    tensors = [
        ("py.f32", "F32", [2, 3], struct.pack("<6f", 0.5, -1.25, 3.0, 1e-3, -7.5, 65504.0)),
        ("py.bf16", "BF16", [3], struct.pack("<3H", 0x3F80, 0xC000, 0x3E80)),  # 1, -2, 0.25
        ("py.f16", "F16", [2], struct.pack("<2e", 0.333251953125, -2.5)),
        ("py.i64", "I64", [2], struct.pack("<2q", -(2**40), 7)),
        ("py.i32", "I32", [1, 1], struct.pack("<i", -123456)),
        ("py.u16", "U16", [3], struct.pack("<3H", 0, 1023, 65535)),
        ("py.u8", "U8", [4], bytes([0, 1, 128, 255])),
        ("py.bool", "BOOL", [2], bytes([1, 0])),
        ("py.scalar", "F32", [], struct.pack("<f", 42.0)),
        ("py.empty", "F32", [0, 4], b""),
    ]
    header, data = {}, b""
    for name, dtype, shape, raw in reversed(tensors):
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    header["__metadata__"] = {"format": "pt", "note": "written by hand"}
    text = json.dumps(dict(sorted(header.items()))).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


if __name__ == "__main__":
    {"check": check, "write": write}[sys.argv[1]](sys.argv[2])
