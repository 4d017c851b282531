#!/usr/bin/env python3
"""Builds the embedded real-price set (data/*.csv.gz) from the shared data folder.

Usage: python3 data/make_embedded.py [SOURCE_DIR] [OUT_DIR]
       (defaults: ../shared/data relative to the repository root, and data/)

Each output file is a verbatim row subset of the source file of the same name (same header
`timestamp,open,high,low,close`, same text per row; nothing filled or rounded), gzip level 9 with
a zeroed header time, so the same source gives byte-identical files.

Windows (the end is the asset's own last candle in each file):
  1m: the last ONE_MIN_DAYS days of the 1m file;
  5m: from FIVE_MIN_DAYS days before the earlier of the two files' ends (the 5m competition's
      test spans end there, since its truth is 1m) up to the 5m file's end.
"""
import gzip
import io
import os
import sys

ONE_MIN_DAYS = 30
FIVE_MIN_DAYS = 180
ASSETS = ["BTC", "ETH", "SOL", "XRP", "HYPE", "XAU", "SPY", "NVDA", "TSLA", "AAPL", "GOOGL"]
DAY = 86_400


def rows(path):
    with gzip.open(path, "rt", newline="") as f:
        header = f.readline()
        body = [line for line in f if line.strip()]
    return header, body


def ts(line):
    return int(line.split(",", 1)[0])


def write(path, header, body):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as g:
        g.write(header.encode())
        g.write("".join(body).encode())
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)
    return len(buf.getvalue())


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "shared", "data")
    out = sys.argv[2] if len(sys.argv) > 2 else here
    total = 0
    for asset in ASSETS:
        h1, one = rows(os.path.join(src, f"{asset}_1m.csv.gz"))
        h5, five = rows(os.path.join(src, f"{asset}_5m.csv.gz"))
        end1, end5 = ts(one[-1]), ts(five[-1])
        from1 = end1 - ONE_MIN_DAYS * DAY
        from5 = min(end1, end5) - FIVE_MIN_DAYS * DAY
        for tf, header, body, start in (("1m", h1, one, from1), ("5m", h5, five, from5)):
            kept = [r for r in body if ts(r) >= start]
            n = write(os.path.join(out, f"{asset}_{tf}.csv.gz"), header, kept)
            total += n
            print(f"{asset}_{tf}.csv.gz\t{len(kept)} rows\t{ts(kept[0])}..{ts(kept[-1])}\t{n} bytes")
    print(f"total\t{total} bytes")


if __name__ == "__main__":
    main()
