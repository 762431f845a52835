#!/usr/bin/env python3
"""Builds the fuzz targets' seed corpora from the project's fixtures (testdata/) and a few generated files.

Writes src/test/resources/<package>/<TargetClass>Inputs/<method>/seed-*, the directories Jazzer replays in the
normal build (regression mode) and starts from when fuzzing. Needs only Python 3 and numpy. Run from the repository
root: python3 fuzz/make_seeds.py. Re-running overwrites the seed-* files and leaves crash-* inputs (findings) alone.
"""
import io, json, os, pathlib, shutil, struct, tarfile, zipfile, zlib
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
RES = ROOT / "fuzz/src/test/resources/marigold4j"
T = ROOT / "testdata"


def put(pkg, cls, method, name, data):
    d = RES / pkg / f"{cls}Inputs" / method
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, pathlib.Path):
        data = data.read_bytes()
    (d / f"seed-{name}").write_bytes(data)


def safetensors(entries, meta=None):
    header, blobs, off = {}, b"", 0
    if meta:
        header["__metadata__"] = meta
    for name, (dtype, shape, raw) in entries.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs += raw
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blobs


def png(width, height, color_type, bit_depth, raw_rows, plte=None, trns=None):
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
    if plte:
        out += chunk(b"PLTE", plte)
    if trns:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(b"".join(b"\x00" + r for r in raw_rows))) + chunk(b"IEND", b"")


def main():
    # safetensors header and ranges
    put("weights", "SafeTensorsFuzzTest", "readHeader", "expected.safetensors", T / "weights/expected.safetensors")
    put("weights", "SafeTensorsFuzzTest", "readHeader", "two.safetensors", safetensors(
        {"conv.weight": ("F16", [2, 1, 1, 1], b"\0" * 4), "conv.bias": ("F32", [2], b"\0" * 8)}, {"format": "pt"}))
    put("weights", "SafeTensorsFuzzTest", "readHeader", "empty.safetensors", safetensors({}))

    # .bin zip archives and the pickles inside them
    for f in ["plain_dict_root.bin", "ordereddict_root.bin", "malicious_os_system.bin"]:
        put("weights", "TorchBinFuzzTest", "load", f, T / "weights" / f)
        with zipfile.ZipFile(T / "weights" / f) as z:
            pkl = [n for n in z.namelist() if n.endswith("data.pkl")][0]
            put("weights", "TorchBinFuzzTest", "unpickle", f.replace(".bin", ".pkl"), z.read(pkl))

    # sharded index
    put("weights", "ShardIndexFuzzTest", "files", "index.json", json.dumps(
        {"metadata": {"total_size": 0}, "weight_map": {"a": "shard-1.safetensors", "b": "shard-1.safetensors"}}).encode())
    put("weights", "ShardIndexFuzzTest", "files", "traversal.json", json.dumps(
        {"weight_map": {"a": "../x.safetensors"}}).encode())

    # model_index.json and component configs
    for ck in ["tiny-marigold-depth", "tiny-geowizard", "tiny-marigold-lcm-depth", "tiny-marigold-v11-normals"]:
        put("checkpoint", "ConfigJsonFuzzTest", "modelIndex", ck + ".json", T / "checkpoints" / ck / "model_index.json")
        for comp in ["unet", "vae", "text_encoder", "image_encoder"]:
            c = T / "checkpoints" / ck / comp / "config.json"
            if c.exists():
                put("checkpoint", "ConfigJsonFuzzTest", "componentConfigs", f"{ck}-{comp}.json", c)
        s = T / "checkpoints" / ck / "scheduler/scheduler_config.json"
        if s.exists():
            put("checkpoint", "ConfigJsonFuzzTest", "schedulerConfig", ck + ".json", s)

    # .npy
    buf = lambda a: (lambda b: (np.save(b, a), b.getvalue())[1])(io.BytesIO())
    put("image", "NpyFuzzTest", "parse", "f4.npy", buf(np.arange(6, dtype="<f4").reshape(2, 3)))
    put("image", "NpyFuzzTest", "parse", "u2.npy", buf(np.arange(4, dtype="<u2")))
    put("image", "NpyFuzzTest", "parse", "bool.npy", buf(np.array([True, False])))
    put("image", "NpyFuzzTest", "parse", "f8-scalar.npy", buf(np.float64(1.5)))
    put("image", "NpyFuzzTest", "parse", "fortran.npy", buf(np.asfortranarray(np.ones((2, 2), dtype="<f4"))))

    # images: PNG 8 / 16 bit, grey, palette, alpha, and JPEG
    put("image", "ImageInputFuzzTest", "read", "gray.png", T / "images/synthetic_gray_64x48.png")
    put("image", "ImageInputFuzzTest", "read", "rgba.png", T / "images/synthetic_rgba_80x60.png")
    put("image", "ImageInputFuzzTest", "read", "bw16.png", png(2, 2, 0, 16, [b"\x01\x00\xff\xff"] * 2))
    put("image", "ImageInputFuzzTest", "read", "rgb16.png", png(2, 1, 2, 16, [bytes(range(12))]))
    put("image", "ImageInputFuzzTest", "read", "palette.png", png(2, 2, 3, 8, [b"\x00\x01"] * 2, b"\xff\0\0\0\xff\0", b"\x80"))
    put("image", "ImageInputFuzzTest", "read", "la.png", png(1, 1, 4, 8, [b"\x10\x20"]))
    put("image", "ImageInputFuzzTest", "read", "img.jpg", T / "eval/normals/dsine_all/data/dsine_eval/vkitti/Scene01/000000_img.jpg")

    # OpenEXR, OASIS pickles
    for f in ["ibims/ibims/corridor_01_normal.exr", "sintel/alley_1/frame_0001_normal.exr"]:
        put("eval/normals", "OpenExrFuzzTest", "read", pathlib.Path(f).name, T / "eval/normals/dsine_all/data/dsine_eval" / f)
    put("eval/normals", "OasisPickleFuzzTest", "read", "101706_DT_normal.pkl",
        T / "eval/normals/dsine_all/data/dsine_eval/oasis/val/101706_DT_normal.pkl")

    # dataset YAML, filename lists, tar members
    for y in sorted((ROOT / "core/src/main/resources/marigold4j/eval/depth/config").glob("*.yaml"))[:4]:
        put("eval/depth", "DatasetFuzzTest", "yaml", y.name, y)
    put("eval/depth", "DatasetFuzzTest", "filenameList", "kitti.txt",
        b"2011_09_26/a.png 2011_09_26/d.png 721.5\n2011_09_26/b.png None 721.5\n")
    t = io.BytesIO()
    with tarfile.open(fileobj=t, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for name, data in [("./rgb.png", b"\x89PNG"), ("./test/depth_0001.png", b"1234")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    put("eval/depth", "DatasetFuzzTest", "tarMembers", "small.tar", t.getvalue())

    # multipart forms: the Content-Type, a line feed, the body
    body = (b"--b\r\nContent-Disposition: form-data; name=\"task\"\r\n\r\ndepth\r\n--b\r\nContent-Disposition: form-data; "
            b"name=\"image\"; filename=\"a;b.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--b--\r\n")
    put("cli/serve", "MultipartFuzzTest", "parse", "form", b"multipart/form-data; boundary=b\n" + body)
    put("cli/serve", "MultipartFuzzTest", "parse", "quoted", b"multipart/form-data; boundary=\"b\"\n" + body)

    # raw HTTP requests to the demo server
    put("cli/serve", "DemoServerFuzzTest", "request", "health", b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
    put("cli/serve", "DemoServerFuzzTest", "request", "models", b"HEAD /api/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    put("cli/serve", "DemoServerFuzzTest", "request", "predict", b"POST /api/predict?x=1 HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    put("cli/serve", "DemoServerFuzzTest", "request", "chunked", b"POST /api/predict HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\nContent-Type: multipart/form-data; boundary=b\r\n\r\n5\r\n--b--\r\n0\r\n\r\n")
    put("cli/serve", "DemoServerFuzzTest", "request", "result", b"GET /api/results/abc/npy HTTP/1.0\r\n\r\n")

    # Hub answers: HEAD status, X-Repo-Commit, ETag, X-Linked-Size, revision JSON, file body (NUL-separated)
    sha = "0123456789abcdef0123456789abcdef01234567"
    rev = json.dumps({"sha": sha, "siblings": [{"rfilename": "model_index.json"}, {"rfilename": "unet/config.json"}]})
    mi = (T / "checkpoints/tiny-marigold-depth/model_index.json").read_bytes()
    put("hub", "HubResponsesFuzzTest", "snapshot", "ok", b"\0".join([b"200", sha.encode(), b'"abc123"', str(len(mi)).encode(), rev.encode(), mi]))
    put("hub", "HubResponsesFuzzTest", "snapshot", "redirect", b"\0".join([b"302", sha.encode(), b'W/"e"', b"-1", rev.encode(), b"{}"]))


if __name__ == "__main__":
    main()
