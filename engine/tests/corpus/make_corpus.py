#!/usr/bin/env python3
# Builds the hostile-input corpus: small GGUF files each broken in one way, with the exact error each must produce.
import struct, os
out = os.path.dirname(os.path.abspath(__file__))
for f in os.listdir(out):
    if f.endswith((".gguf", ".err")):
        os.remove(os.path.join(out, f))

def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)
def gstr(s): b = s.encode() if isinstance(s, str) else s; return u64(len(b)) + b

F32, Q8_0 = 0, 8
def kv_str(k, v): return gstr(k) + u32(8) + gstr(v)
def kv_u32(k, v): return gstr(k) + u32(4) + u32(v)

def tensor_info(name, dims, ty, off):
    return gstr(name) + u32(len(dims)) + b"".join(u64(d) for d in dims) + u32(ty) + u64(off)

def build(kvs=None, tensors=None, version=3, magic=b"GGUF", n_tensors=None, n_kv=None, data=None, align=32):
    kvs = kvs if kvs is not None else [kv_str("general.architecture", "gpt-oss"),
                                       gstr("test.array") + u32(9) + u32(4) + u64(3) + u32(1) + u32(2) + u32(3),
                                       gstr("test.flag") + u32(7) + b"\x01"]
    tensors = tensors if tensors is not None else [tensor_info("a", [4], F32, 0), tensor_info("b", [32, 2], Q8_0, 32)]
    h = magic + u32(version) + u64(len(tensors) if n_tensors is None else n_tensors) + u64(len(kvs) if n_kv is None else n_kv)
    h += b"".join(kvs) + b"".join(tensors)
    pad = (-len(h)) % align
    body = data if data is not None else bytes(range(16)) + bytes(16) + bytes((i * 7) & 255 for i in range(68))
    return h, h + bytes(pad) + body

cases = {}
def case(name, data, err):
    cases[name] = (data, err)

base_h, base = build()
# header: 24 fixed; kv0 = 8+20 + 4 + 8+7 = 47 -> ends 71; kv1 = 8+10 + 4 + 4+8+12 = 46 -> ends 117; kv2 = 8+9+4+1 = 22 -> 139
# tensor a: 8+1+4+8+4+8 = 33 -> 172; tensor b: 8+1+4+16+4+8 = 41 -> 213; pad to 224; data 100 -> 324
assert len(base_h) == 213 and len(base) == 324, (len(base_h), len(base))

case("empty", b"", "truncated at offset 0 while reading magic (4 bytes needed, file is 0 bytes)")
case("bad-magic", b"GGML" + base[4:], 'not a GGUF file (starts with "GGML", expected "GGUF")')
case("html-page", b"<!DOCTYPE html><html><body>app</body></html>\n", 'not a GGUF file (starts with "<!DO", expected "GGUF")')
case("version-1", build(version=1)[1], "unsupported GGUF version 1 (2 and 3 are supported)")
case("version-big-endian", base[:4] + struct.pack(">I", 3) + base[8:],
     "unsupported GGUF version 50331648 (2 and 3 are supported, a big-endian file?)")
case("truncated-in-counts", build(tensors=[], data=b"")[1][:20], "truncated at offset 16 while reading metadata (8 bytes needed, file is 20 bytes)")
# kv1 ("test.array") starts at 71: key length 71..79, key 79..89, type 89..93, element type 93..97, count 97..105.
case("truncated-in-key-length", base[:75],
     "truncated at offset 71 while reading metadata key #1 (8 bytes needed, file is 75 bytes)")
case("truncated-in-key", base[:85],
     "metadata key #1 string length 10 at offset 71 needs at least 10 bytes but only 6 remain in the file")
case("truncated-in-metadata", base[:100],
     "truncated at offset 97 while reading metadata `test.array` (8 bytes needed, file is 100 bytes)")
case("truncated-before-header-fits", base[:40],
     "tensor count 2 at offset 8 needs at least 48 bytes but only 24 remain in the file")
case("truncated-in-tensor-info", base[:200],
     "truncated at offset 193 while reading dimension 1 of tensor `b` (8 bytes needed, file is 200 bytes)")
case("truncated-data", base[:300],
     "tensor `b` data [256, 324) lies beyond the end of the file (300 bytes): truncated")
case("tensor-count-huge", build(n_tensors=1 << 40)[1], "tensor count 1099511627776 at offset 8 exceeds the limit of 1048576")
case("metadata-count-exceeds-file", build(n_kv=1000)[1],
     "metadata count 1000 at offset 16 needs at least 13000 bytes but only 300 remain in the file")
case("key-length-huge", base[:24] + u64(1 << 62) + base[32:],
     "metadata key #0 string length 4611686018427387904 at offset 24 exceeds the limit of 65535")
case("unknown-value-type", build(kvs=[gstr("k") + u32(13) + u32(0)])[1], "metadata `k` has unknown value type 13 at offset 33")
case("unknown-array-type", build(kvs=[gstr("k") + u32(9) + u32(99) + u64(0)])[1],
     "metadata `k`: unknown array element type 99 at offset 37")
huge = build(kvs=[gstr("k") + u32(9) + u32(6) + u64(1 << 50)])[1]
case("array-length-huge", huge,
     f"metadata `k` array length {1 << 50} at offset 41 needs at least {4 << 50} bytes but only {len(huge) - 49} remain in the file")
case("array-length-over-cap", build(kvs=[gstr("k") + u32(9) + u32(0) + u64(1 << 60)])[1],
     f"metadata `k` array length {1 << 60} at offset 41 exceeds the limit of {(2**64 - 1) // 16}")
nest = u32(9) + u64(1)
case("arrays-nested-too-deep", build(kvs=[gstr("k") + u32(9) + nest * 4 + u32(4) + u64(0)])[1],
     "metadata `k`: arrays nested deeper than 4")
case("bool-not-0-or-1", build(kvs=[gstr("k") + u32(7) + b"\x02"])[1], "metadata `k`: bool byte 2 at offset 37 is not 0 or 1")
case("key-not-utf8", build(kvs=[gstr(b"\xff\xfe") + u32(4) + u32(1)])[1], "metadata key #0 at offset 24 is not valid UTF-8")
case("duplicate-key", build(kvs=[kv_u32("k", 1), kv_u32("k", 2)])[1], "duplicate metadata key `k`")
case("alignment-not-power-of-two", build(kvs=[kv_u32("general.alignment", 48)], align=48)[1],
     "bad general.alignment U32(48) (must be a u32 power of two)")
case("alignment-zero", build(kvs=[kv_u32("general.alignment", 0)])[1], "bad general.alignment U32(0) (must be a u32 power of two)")
case("alignment-wrong-type", build(kvs=[gstr("general.alignment") + u32(10) + u64(32)])[1],
     "bad general.alignment U64(32) (must be a u32 power of two)")
case("ggml-type-unknown", build(tensors=[tensor_info("a", [4], 99, 0)], data=bytes(16))[1],
     "tensor `a` has unknown ggml type id 99 (at offset 160)")
case("ggml-type-retired", build(tensors=[tensor_info("a", [4], 4, 0)], data=bytes(16))[1],
     "tensor `a` has unknown ggml type id 4 (at offset 160)")
case("too-many-dims", build(tensors=[tensor_info("a", [1, 1, 1, 1, 1], F32, 0)], data=bytes(4))[1],
     "tensor `a` has 5 dimensions (at most 4)")
case("dims-overflow", build(tensors=[tensor_info("a", [1 << 32, 1 << 32], F32, 0)], data=bytes(4))[1],
     "tensor `a`: dimensions [4294967296, 4294967296] overflow")
case("dim-negative", build(tensors=[tensor_info("a", [(1 << 64) - 1], F32, 0)], data=bytes(4))[1],
     "tensor `a` dimension 0 is negative or too large (18446744073709551615)")
case("row-not-block-multiple", build(tensors=[tensor_info("q", [48, 2], Q8_0, 0)], data=bytes(96))[1],
     "tensor `q`: row length 48 is not a multiple of Q8_0's block size 32")
case("offset-misaligned", build(tensors=[tensor_info("a", [4], F32, 0), tensor_info("b", [32, 2], Q8_0, 16)])[1],
     "tensor `b` data offset 16 is not a multiple of alignment 32")
case("offset-overlapping", build(tensors=[tensor_info("a", [16], F32, 0), tensor_info("b", [32, 2], Q8_0, 32)])[1],
     "tensor `b` has offset 32, expected 64 (overlaps the previous tensor)")
case("offset-gap", build(tensors=[tensor_info("a", [4], F32, 0), tensor_info("b", [32, 2], Q8_0, 64)])[1],
     "tensor `b` has offset 64, expected 32 (leaves a gap)")
case("offset-first-not-zero", build(tensors=[tensor_info("a", [4], F32, 32)])[1],
     "tensor `a` has offset 32, expected 0 (leaves a gap)")
case("data-beyond-end", build(tensors=[tensor_info("a", [4], F32, 0), tensor_info("b", [32, 1 << 20], Q8_0, 32)])[1],
     "tensor `b` data [256, 35651840) lies beyond the end of the file (324 bytes): truncated")
case("duplicate-tensor-name", build(tensors=[tensor_info("a", [8], F32, 0), tensor_info("a", [8], F32, 32)])[1],
     "duplicate tensor name `a`")
case("tensor-name-too-long", build(tensors=[tensor_info("n" * 64, [4], F32, 0)], data=bytes(16))[1],
     "name of tensor #0 string length 64 at offset 139 exceeds the limit of 63")
case("offset-overflow", build(tensors=[tensor_info("a", [1 << 61], F32, 0), tensor_info("b", [1 << 61], F32, 1 << 63)], data=bytes(4))[1],
     "tensor `b`: offset + size overflows")

for name, (data, err) in cases.items():
    open(f"{out}/{name}.gguf", "wb").write(data)
    open(f"{out}/{name}.err", "w").write(err + "\n")
print(len(cases), "cases")
