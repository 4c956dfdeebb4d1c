"""Mixed real data for the blob benchmark (bench/blob_run.sh): photographs, H.264 video, machine
logs and raw sensor dumps, about BENCH_BLOB_GIB GiB in all, deterministic for a given size.

- Photographs: the real photos that Debian ships in mate-backgrounds (nature), plasma-workspace-
  wallpapers and python3-skimage (astronaut, coffee, motorcycle, ...), fetched with
  `apt-get download` and unpacked with `dpkg-deb -x` (cached in OUT/../blob-src). Each is cropped
  at moving windows, rescaled and re-encoded by ffmpeg into many distinct JPEG (most), WebP and
  PNG files.
- Video: ffmpeg's testsrc2 and mandelbrot sources with film grain, encoded to H.264 MP4.
- Logs: synthetic PLC/machine logs (text). Sensor dumps: float32 vibration traces (binary).

Writes OUT/manifest.json: every file with its class, and ten datasets sharing 80 % of their
photos (for the dedup measurement).
Usage: blob_gen.py OUT --gib 2
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGES = ["mate-backgrounds", "plasma-workspace-wallpapers", "python3-skimage"]
SKIMAGE_PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png",
                  "motorcycle_right.png", "rocket.jpg", "retina.jpg", "hubble_deep_field.jpg",
                  "camera.png", "coins.png", "moon.png", "grass.png", "gravel.png", "brick.png",
                  "ihc.png", "immunohistochemistry.png", "color.png"]
SHARE = {"photo": 0.50, "video": 0.30, "log": 0.15, "sensor": 0.05}


def run(cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def fetch_photos(src):
    """Real photographs from Debian packages -> list of paths."""
    debs = src / "debs"
    root = src / "root"
    if not (src / ".done").exists():
        shutil.rmtree(src, ignore_errors=True)
        debs.mkdir(parents=True)
        root.mkdir(parents=True)
        for p in PACKAGES:
            r = subprocess.run(["apt-get", "download", p], cwd=debs, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
            if r.returncode != 0:
                sys.exit("blob_gen: apt-get download %s failed: %s" % (p, r.stderr.decode()[-300:]))
        for deb in sorted(debs.glob("*.deb")):
            run(["dpkg-deb", "-x", str(deb), str(root)])
        (src / ".done").touch()
    photos = []
    mate = root / "usr/share/backgrounds/mate"
    photos += sorted((mate / "nature").glob("*.jpg"))
    photos += [mate / "abstract/Elephants_3840x2160.jpg"]
    for jpg in sorted((root / "usr/share/wallpapers").glob("*/contents/images/*.jpg")):
        if jpg.stat().st_size > 50_000 and not jpg.is_symlink():
            photos.append(jpg)
    data = next(root.glob("usr/lib/python3/dist-packages/skimage/data"), None)
    if data:
        photos += [data / n for n in SKIMAGE_PHOTOS if (data / n).exists()]
    photos = [p for p in photos if p.exists() and p.stat().st_size > 20_000]
    if len(photos) < 20:
        sys.exit("blob_gen: only %d photographs found in %s" % (len(photos), root))
    return photos


def run_waves(make_job, budget, out, pattern):
    """Runs ffmpeg jobs a wave at a time (one per core) until `budget` bytes exist."""
    from concurrent.futures import ThreadPoolExecutor
    workers = max(1, os.cpu_count() or 1)
    total, i = 0, 0
    with ThreadPoolExecutor(workers) as pool:
        while total < budget:
            jobs = [make_job(i + k) for k in range(workers)]
            list(pool.map(run, jobs))
            i += workers
            total = sum(f.stat().st_size for f in out.glob(pattern))
    return sorted(str(f) for f in out.glob(pattern))


def photo_variants(photos, out, budget, rng):
    """Crops, rescales and re-encodes the photographs until `budget` bytes exist."""
    out.mkdir(parents=True, exist_ok=True)
    plans = {}

    def job(batch):
        r = random.Random(batch)
        src = photos[batch % len(photos)]
        fmt = "jpg" if batch % 10 < 8 else ("webp" if batch % 10 == 8 else "png")
        crop = r.choice([0.45, 0.6, 0.75, 0.9])
        width = r.choice([640, 1024, 1600, 2048]) if fmt != "png" else r.choice([480, 800])
        frames = 24 if fmt == "jpg" else 6
        # Decode once, loop the frame, move the crop window every frame, rescale, encode.
        vf = ("loop=loop=%d:size=1:start=0,crop=w=iw*%s:h=ih*%s:x='mod(n*173,iw-ow+1)'"
              ":y='mod(n*97,ih-oh+1)',scale=%d:-2" % (frames - 1, crop, crop, width))
        enc = {"jpg": ["-q:v", str(r.choice([2, 3, 4, 6]))],
               "webp": ["-c:v", "libwebp", "-quality", str(r.choice([70, 85]))],
               "png": []}[fmt]
        plans[batch] = fmt
        return ["ffmpeg", "-nostdin", "-y", "-i", str(src), "-vf", vf, "-frames:v", str(frames),
                *enc, "-f", "image2", str(out / ("p%05d" % batch)) + "_%03d." + fmt]

    return run_waves(job, budget, out, "p*_*.*")


def videos(out, budget, rng):
    out.mkdir(parents=True, exist_ok=True)

    def job(i):
        r = random.Random(1000 + i)
        # Every clip distinct: its own source offset, frame rate and grain seed.
        src = ("testsrc2=size=1280x720:rate=%d" % r.choice([24, 25, 30]) if i % 3 else
               "mandelbrot=size=960x540:rate=25:start_scale=%s" % (3 - 0.05 * i))
        return ["ffmpeg", "-nostdin", "-y", "-f", "lavfi", "-i", src, "-ss", str(i % 7),
                "-t", str(r.choice([4, 6, 8])),
                "-vf", "noise=alls=%d:allf=t+u:all_seed=%d" % (r.choice([12, 20]), 7919 * i + 1),
                "-c:v", "libx264",
                "-preset", "ultrafast", "-b:v", "%dM" % r.choice([12, 20]), "-pix_fmt", "yuv420p",
                str(out / ("clip%03d.mp4" % i))]

    return run_waves(job, budget, out, "clip*.mp4")


def logs(out, budget, rng):
    out.mkdir(parents=True, exist_ok=True)
    levels = ["INFO"] * 8 + ["WARN", "DEBUG", "ERROR"]
    events = ["cycle complete", "spindle load", "coolant flow", "door interlock closed",
              "tool change T%d", "axis X homed", "alarm cleared", "part counter", "feed override",
              "PLC scan overrun", "servo following error", "pallet change"]
    files, total, i = [], 0, 0
    while total < budget:
        size = rng.choice([1, 2, 4, 8]) << 20
        machine = "cnc-%02d" % rng.randrange(40)
        t = 1764000000 + rng.randrange(10_000_000)
        lines = []
        n = 0
        while n < size:
            t += rng.randrange(1, 5)
            ev = rng.choice(events)
            if "%d" in ev:
                ev = ev % rng.randrange(1, 24)
            line = "%d.%03d %s %s [%s] %s value=%.3f seq=%d\n" % (
                t, rng.randrange(1000), machine, rng.choice(levels), "plc%d" % rng.randrange(4),
                ev, rng.gauss(50, 12), n)
            lines.append(line)
            n += len(line)
        f = out / ("%s-%04d.log" % (machine, i))
        f.write_text("".join(lines))
        files.append(str(f))
        total += f.stat().st_size
        i += 1
    return files


def sensors(out, budget, rng):
    import numpy as np
    out.mkdir(parents=True, exist_ok=True)
    files, total, i = [], 0, 0
    gen = np.random.default_rng(rng.randrange(1 << 30))
    while total < budget:
        n = rng.choice([1, 2, 4]) << 20  # samples
        t = np.arange(n, dtype=np.float64) / 25600.0
        sig = (np.sin(2 * np.pi * 120 * t) * 0.8 + np.sin(2 * np.pi * 1840 * t) * 0.1
               + gen.normal(0, 0.02, n))
        # 16-bit ADC counts, as a data logger dumps them.
        raw = np.round(sig * 8000).astype("<i2")
        f = out / ("vib-%04d.raw" % i)
        raw.tofile(f)
        files.append(str(f))
        total += f.stat().st_size
        i += 1
    return files


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--gib", type=float, default=2.0)
    args = ap.parse_args()
    out = Path(args.out)
    budget = int(args.gib * (1 << 30))
    rng = random.Random(2026)
    src = out.parent / "blob-src"
    photos = fetch_photos(src)
    manifest = {"sources": [str(p) for p in photos], "files": []}
    kinds = {
        "photo": lambda b: photo_variants(photos, out / "photos", b, rng),
        "video": lambda b: videos(out / "video", b, rng),
        "log": lambda b: logs(out / "logs", b, rng),
        "sensor": lambda b: sensors(out / "sensors", b, rng),
    }
    for kind, share in SHARE.items():
        print("blob_gen: %s (%.0f MiB)" % (kind, budget * share / (1 << 20)), file=sys.stderr)
        for f in kinds[kind](int(budget * share)):
            manifest["files"].append({"path": f, "kind": kind, "size": os.path.getsize(f)})
    # Ten datasets of k photos each: 80 % from a common pool, 20 % their own.
    photo_files = [f["path"] for f in manifest["files"] if f["kind"] == "photo"]
    rng.shuffle(photo_files)
    k = int(len(photo_files) / 2.8)
    common = photo_files[: int(0.8 * k)]
    rest = photo_files[int(0.8 * k):]
    own = k - len(common)
    manifest["datasets"] = [common + rest[i * own:(i + 1) * own] for i in range(10)]
    (out / "manifest.json").write_text(json.dumps(manifest))
    total = sum(f["size"] for f in manifest["files"])
    print("blob_gen: %d files, %.2f GiB from %d photographs" % (
        len(manifest["files"]), total / (1 << 30), len(photos)), file=sys.stderr)


if __name__ == "__main__":
    main()
