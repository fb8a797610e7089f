"""A database of realistic rows, grown to a size, for the benchmarks to back up and restore."""

from __future__ import annotations

import threading
import time

import zstandard

from fixtures.postgres import PostgresServer

MB = 1_000_000  # decimal megabytes, as MB/s is usually quoted
DBNAME = "bench"
ORDERS_PER_BATCH = 100_000  # about 25 MB of table; small enough not to overshoot the target much
SEED_SESSIONS = 2  # one per core: INSERT ... SELECT is CPU-bound in the backend

SCHEMA = """
CREATE TABLE customers (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_uuid uuid NOT NULL,
    email text NOT NULL,
    full_name text NOT NULL,
    country char(2) NOT NULL,
    balance numeric(12, 2) NOT NULL,
    signed_up_at timestamptz(0) NOT NULL
);
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_uuid uuid NOT NULL,
    customer_email text NOT NULL,
    amount numeric(12, 2) NOT NULL,
    currency char(3) NOT NULL,
    status text NOT NULL,
    quantity int NOT NULL,
    created_at timestamptz(0) NOT NULL,
    shipped_at timestamptz(0),
    tracking_code text,
    note text,
    metadata jsonb NOT NULL
);
"""

# Word lists shared by both inserts. Names and domains repeat (as in real data); UUIDs, amounts,
# timestamps and tracking codes are random and are what keeps the ratio near 2.5-3:1, unlike
# pgbench's blank-padded rows (about 100:1).
_WORDS = """
WITH w AS (SELECT
  '{anna,ben,carla,david,emma,felix,greta,hugo,ines,jonas,karla,leon,mia,noah,olga,paul,rosa,
    sven,tina,uwe,vera,yann,zoe,liam,omar,priya,chen,sofia,mateo,aiko}'::text[] AS first,
  '{smith,jones,garcia,muller,rossi,dubois,kowalski,tanaka,silva,novak,jensen,ivanov,kim,
    nguyen,brown,lopez,schmidt,moreau,costa,larsen}'::text[] AS last,
  '{gmail.com,yahoo.com,outlook.com,example.org,mail.de,proton.me,corp.example.com,
    web.de}'::text[] AS domain,
  '{pending,paid,shipped,delivered,cancelled,refunded}'::text[] AS status,
  '{EUR,USD,GBP,CHF,SEK}'::text[] AS cur,
  '{DE,FR,US,GB,IT,ES,PL,NL,SE,JP,BR,IN}'::text[] AS country,
  '{please,leave,at,door,gift,wrap,call,before,delivery,fragile,handle,with,care,second,
    floor,ring,bell,twice,no,invoice,back,entrance,weekend,only,thanks}'::text[] AS word
)
"""

INSERT_ORDERS = (
    _WORDS
    + """
INSERT INTO orders (order_uuid, customer_email, amount, currency, status, quantity, created_at,
                    shipped_at, tracking_code, note, metadata)
SELECT gen_random_uuid(),
  w.first[1 + (random() * 29)::int] || '.' || w.last[1 + (random() * 19)::int]
    || CASE WHEN random() < 0.5 THEN (random() * 99)::int::text ELSE '' END
    || '@' || w.domain[1 + (random() * 7)::int],
  round((random() * random() * 2000)::numeric, 2),
  w.cur[1 + (random() * 4)::int],
  w.status[1 + (random() * 5)::int],
  1 + (random() * random() * 9)::int,
  ts,
  CASE WHEN random() < 0.7 THEN ts + random() * interval '5 days' END,
  CASE WHEN random() < 0.7 THEN upper(substr(md5(random()::text), 1, 12)) END,
  CASE WHEN random() < 0.4 THEN w.word[1 + (random() * 24)::int] || ' '
    || w.word[1 + (random() * 24)::int] || ' ' || w.word[1 + (random() * 24)::int] END,
  jsonb_build_object(
    'channel', (ARRAY['web', 'app', 'phone', 'store'])[1 + (random() * 3)::int],
    'items', 1 + (random() * 4)::int)
FROM w, (SELECT now() - random() * interval '3 years' FROM generate_series(1, %(n)s)) s(ts)
"""
)

INSERT_CUSTOMERS = (
    _WORDS
    + """
INSERT INTO customers (customer_uuid, email, full_name, country, balance, signed_up_at)
SELECT gen_random_uuid(),
  f || '.' || l || (random() * 999)::int || '@' || w.domain[1 + (random() * 7)::int],
  initcap(f) || ' ' || initcap(l),
  w.country[1 + (random() * 11)::int],
  round((random() * 10000 - 2000)::numeric, 2),
  now() - random() * interval '8 years'
FROM w, (SELECT w.first[1 + (random() * 29)::int], w.last[1 + (random() * 19)::int]
         FROM w, generate_series(1, %(n)s)) s(f, l)
"""
)


def database_size(pg: PostgresServer) -> int:
    return int(pg.query(f"SELECT pg_database_size('{DBNAME}')")[0][0])


def seed_to(pg: PostgresServer, target_bytes: int) -> int:
    """Grow the database to at least `target_bytes`, in batches from two sessions at once,
    then vacuum it; returns pg_database_size."""
    if not pg.query(f"SELECT 1 FROM pg_database WHERE datname = '{DBNAME}'"):
        pg.create_database(DBNAME)
        pg.execute(SCHEMA, DBNAME)
    started = time.monotonic()
    errors: list[BaseException] = []

    def grow() -> None:
        try:
            with pg.connect(DBNAME) as conn:
                while database_size(pg) < target_bytes:
                    conn.execute(INSERT_ORDERS, {"n": ORDERS_PER_BATCH})
                    conn.execute(INSERT_CUSTOMERS, {"n": ORDERS_PER_BATCH // 10})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=grow) for _ in range(SEED_SESSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    # A freshly inserted row makes its first reader set hint bits and write the page back;
    # vacuuming first gives every method the steady state a production database is in.
    pg.execute("VACUUM (FREEZE, ANALYZE)", DBNAME)
    pg.execute("CHECKPOINT")
    size = database_size(pg)
    time.sleep(0.5)  # let the seeding sessions' backends be reaped before the first timing
    print(f"  seeded to {size / MB:,.0f} MB in {time.monotonic() - started:.0f} s")
    return size


def sample_ratio(pg: PostgresServer) -> float:
    """zstd -3 ratio of a 1% sample of both tables in COPY text form (what pg_dump writes)."""
    raw = bytearray()
    with pg.connect(DBNAME) as conn:
        for table in ("orders", "customers"):
            query = f"COPY (SELECT * FROM {table} TABLESAMPLE SYSTEM (1)) TO STDOUT"
            with conn.cursor().copy(query) as copy:
                for data in copy:
                    raw += data
    compressed = zstandard.ZstdCompressor(level=3).compress(bytes(raw))
    return len(raw) / len(compressed)
