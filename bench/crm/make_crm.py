"""Writes the CRM benchmark's input: N customers and N deals as CSV, deterministic.

    python3 make_crm.py OUT_DIR N
customers.csv: customer_id,name,email,phone,segment
deals.csv:     name,stage,amount,currency,customer,owner,expected_close
owners are the e-mails of the 20 sales users run.sh creates (rep00@bench.io .. rep19@bench.io).
"""
import csv
import random
import sys

out, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(7)
first = ["Ann", "Ben", "Chloe", "Dev", "Eva", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lena"]
last = ["Lee", "Okafor", "Schmidt", "Tanaka", "Rossi", "Novak", "Silva", "Khan", "Berg", "Moreau"]
segments = ["new", "loyal", "at risk", "champion", ""]
stages = ["Contact", "Needs analysis", "Demo", "Close", "Won", "Lost"]
with open(f"{out}/customers.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["customer_id", "name", "email", "phone", "segment"])
    for i in range(n):
        name = f"{rng.choice(first)} {rng.choice(last)}"
        w.writerow([f"C{i:07d}", name, f"c{i}@example.com", f"+1 555 {i % 10000:04d}", rng.choice(segments)])
with open(f"{out}/deals.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["name", "stage", "amount", "currency", "customer", "owner", "expected_close"])
    for i in range(n):
        amount = "" if rng.random() < 0.05 else f"{rng.lognormvariate(8, 1.2):.2f}"
        month = rng.randint(1, 12)
        w.writerow([f"Deal {i}", rng.choice(stages), amount, "USD", f"C{rng.randrange(n):07d}",
                    f"rep{rng.randrange(20):02d}@bench.io", f"2026-{month:02d}-{rng.randint(1, 28):02d}"])
