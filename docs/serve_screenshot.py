"""Render the README's screenshot of `m3dreid serve` (docs/serve_person_page.png) from a synthetic scene.

What it runs, in order (each is a command a user can type; see the README's "Browse your footage" section):

    m3dreid make-scene --out S --cameras 3 --people 8 --frames 240 --seed 0
    m3dreid tracklets S/camK.avi --out T/camK --camid K --detections S/camK_gt.txt   (K = 1, 2, 3)
    m3dreid index T/cam1 T/cam2 T/cam3 --out T/gallery        (the default model; or --model MODEL)
    m3dreid serve T/gallery --port P

then opens the person page of the first track of camera 1 whose person walks through every camera in Debian's
headless chromium, marks its matches right or wrong from the scene's truth (scene.json), reloads and saves a
screenshot. ``--model`` takes whatever ``m3dreid index --model`` takes (default: index's own default).

    python docs/serve_screenshot.py --work /tmp/shot --out docs/serve_person_page.png
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path


def m3dreid(*args: str) -> None:
    print("$ m3dreid " + " ".join(args), flush=True)
    subprocess.run([sys.executable, "-m", "m3dreid", *args], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="what `m3dreid index --model` takes (default: its default)")
    parser.add_argument("--work", required=True, help="scratch folder (scene, tracklets, index)")
    parser.add_argument("--out", default="docs/serve_person_page.png")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    work = Path(args.work)
    scene, tracks = work / "scene", work / "tracks"
    if not (scene / "scene.json").is_file():
        m3dreid("make-scene", "--out", str(scene), "--cameras", "3", "--people", "8", "--frames", "240",
                "--seed", str(args.seed))  # fmt: skip
    for k in (1, 2, 3):
        if not (tracks / f"cam{k}" / "tracks.csv").is_file():
            m3dreid("tracklets", str(scene / f"cam{k}.avi"), "--out", str(tracks / f"cam{k}"), "--camid", str(k),
                    "--detections", str(scene / f"cam{k}_gt.txt"), "--no-progress")  # fmt: skip
    gallery = tracks / "gallery"
    if not (gallery / "meta.json").is_file():
        model = ["--model", args.model] if args.model else []
        m3dreid("index", *(str(tracks / f"cam{k}") for k in (1, 2, 3)), *model, "--out", str(gallery), "--no-progress")
    (gallery / "marks.json").unlink(missing_ok=True)

    truth = {(t["camid"], t["track_id"]): t["person"] for t in json.loads((scene / "scene.json").read_text())["tracks"]}
    meta = json.loads((gallery / "meta.json").read_text())["tracklets"]
    seen_in = {}
    for m in meta:
        seen_in.setdefault(truth[(m["camid"], m["track_id"])], set()).add(m["camid"])
    query = next(i for i, m in enumerate(meta) if m["camid"] == 1 and len(seen_in[truth[(1, m["track_id"])]]) == 3)
    person = truth[(1, meta[query]["track_id"])]

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "m3dreid", "serve", str(gallery), "--port", str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                html = urllib.request.urlopen(f"{base}/person/{query}?k=8", timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.2)
        token = re.search(r'name="token" value="([^"]+)"', html).group(1)
        for gi in (int(g) for g in re.findall(r'data-gi="(\d+)" data-rank', html)[:6]):  # mark the top 6 by truth
            m = meta[gi]
            verdict = "right" if truth[(m["camid"], m["track_id"])] == person else "wrong"
            form = urllib.parse.urlencode({"token": token, "query": query, "match": gi, "verdict": verdict}).encode()
            urllib.request.urlopen(urllib.request.Request(f"{base}/marks", data=form), timeout=10).read()
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                     "--disable-background-networking", "--disable-component-update", "--hide-scrollbars",
                     f"--user-data-dir={work / 'chromium-profile'}", "--window-size=1100,900"):  # fmt: skip
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
        try:
            driver.get(f"{base}/person/{query}?k=8")
            time.sleep(1.0)  # let the GIF's first frame and the strips paint
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            raw = work / "screenshot.png"
            driver.save_screenshot(str(raw))
            from PIL import Image  # 128 colours: about 50 KB instead of 200 KB, no visible change at this size

            Image.open(raw).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(
                args.out, optimize=True
            )
        finally:
            driver.quit()
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"person page of camera 1 track {meta[query]['track_id']} (person {person}) -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
