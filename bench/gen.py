#!/usr/bin/python3
"""Statement data for the benchmark: gen.py ROWS DAYS LAST_DAY OUT.jsonl writes ROWS rows spread
evenly over the DAYS days ending at LAST_DAY (ISO), one JSON object a line, in date order, made by
the test mock's own row generator (test/mock/mock_bank.py: about 60 % Pix with full detalhes, a
tenth of them INCOMPLETE, boletos, transfers, payments, fees, rows without detalhes or with
"detalhes": null, Unicode names, amounts with 1 or 2 decimals; about 700 bytes a row)."""
import datetime as dt
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "mock"))
import mock_bank  # noqa: E402


def main():
    rows, days, last, out = int(sys.argv[1]), int(sys.argv[2]), dt.date.fromisoformat(sys.argv[3]), sys.argv[4]
    rng = random.Random(rows * 1000 + days)
    first = last - dt.timedelta(days=days - 1)
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        for d in range(days):
            day = first + dt.timedelta(days=d)
            n = rows * (d + 1) // days - rows * d // days
            day_rows = sorted((mock_bank._gen_row(rng, day, s) for s in range(n)), key=lambda r: r.key)
            for r in day_rows:
                f.write(r.json)
                f.write("\n")
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
