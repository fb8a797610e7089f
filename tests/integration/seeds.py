"""Seed databases with realistic content, and fingerprints to compare a restore with its source.

Rows mix numbers, timestamps, e-mail addresses, UUIDs, unicode text and random binary data, so
that they compress about as real data does (not 100:1 like padded benchmark rows).
"""

from __future__ import annotations

from typing import Any

from fixtures.mariadb import MariaDBServer
from fixtures.postgres import PostgresServer

PG_SEED = """
CREATE SCHEMA sales;
CREATE TABLE customers (
    id serial PRIMARY KEY,
    email text NOT NULL,
    name text NOT NULL,
    balance numeric(12, 2) NOT NULL,
    external_id uuid NOT NULL,
    created_at timestamptz NOT NULL
);
INSERT INTO customers (email, name, balance, external_id, created_at)
SELECT 'user' || i || '@example.' || (ARRAY['com', 'org', 'de'])[1 + i % 3],
       (ARRAY['Zoë', 'Ångström', 'Łukasz', '山田', 'Οδυσσέας', 'Renée'])[1 + i % 6]
           || ' ' || substr(md5(i::text), 1, 8),
       round((random() * 10000)::numeric, 2),
       md5(i::text || 'uuid')::uuid,
       timestamptz '2020-01-01' + i * interval '17 minutes'
FROM generate_series(1, {customers}) AS i;
CREATE TABLE documents (id bigserial PRIMARY KEY, title text, body bytea NOT NULL);
INSERT INTO documents (title, body)
SELECT 'doc ' || i,
       (SELECT decode(string_agg(md5(random()::text || i || g), ''), 'hex')
          FROM generate_series(1, {blob_blocks}) AS g)
FROM generate_series(1, {documents}) AS i;
CREATE TABLE sales.orders (
    id bigserial PRIMARY KEY,
    customer_id int REFERENCES customers (id),
    amount numeric(10, 2),
    note text,
    ordered_at timestamptz
);
INSERT INTO sales.orders (customer_id, amount, note, ordered_at)
SELECT 1 + i % {customers}, round((random() * 500)::numeric, 2), 'order ' || md5(i::text),
       timestamptz '2024-01-01' + i * interval '3 minutes'
FROM generate_series(1, {orders}) AS i;
CREATE VIEW big_spenders AS SELECT id, email FROM customers WHERE balance > 9000;
CREATE FUNCTION with_tax(amount numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE AS $$ SELECT round(amount * 1.19, 2) $$;
CREATE SEQUENCE invoice_no START 1000;
SELECT setval('invoice_no', 4242);
"""

PG_TABLES = ["public.customers", "public.documents", "sales.orders"]


def seed_postgres(server: PostgresServer, dbname: str, *, scale: float = 1.0) -> None:
    """About 55 MB on disk at scale 1."""
    server.create_database(dbname)
    server.execute(
        PG_SEED.format(
            customers=int(200_000 * scale),
            documents=int(12_000 * scale),
            blob_blocks=64,
            orders=int(300_000 * scale),
        ),
        dbname,
    )


def pg_fingerprint(server: PostgresServer, dbname: str) -> dict[str, Any]:
    """Per-table row counts and content checksums, plus the sequence, view and function."""
    result: dict[str, Any] = {}
    for table in PG_TABLES:
        rows = server.query(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
            f"FROM {table} AS t",
            dbname,
        )
        result[table] = tuple(rows[0])
    result["invoice_no"] = server.query("SELECT last_value FROM invoice_no", dbname)[0][0]
    result["view"] = server.query("SELECT count(*) FROM big_spenders", dbname)[0][0]
    result["function"] = str(server.query("SELECT with_tax(100)", dbname)[0][0])
    return result


MARIADB_SEED = [
    """CREATE TABLE customers (
        id INT AUTO_INCREMENT PRIMARY KEY,
        email VARCHAR(255) NOT NULL,
        name VARCHAR(255) NOT NULL,
        balance DECIMAL(12, 2) NOT NULL,
        external_id CHAR(36) NOT NULL,
        created_at DATETIME NOT NULL
    ) DEFAULT CHARSET = utf8mb4""",
    """CREATE TABLE documents (
        id INT AUTO_INCREMENT PRIMARY KEY,
        title VARCHAR(100),
        body LONGBLOB NOT NULL
    )""",
    "CREATE SEQUENCE invoice_no START WITH 1000",
    """CREATE VIEW big_spenders AS SELECT id, email FROM customers WHERE balance > 9000""",
    """CREATE FUNCTION with_tax(amount DECIMAL(10, 2)) RETURNS DECIMAL(10, 2) DETERMINISTIC
        RETURN ROUND(amount * 1.19, 2)""",
    """CREATE PROCEDURE add_customer(IN e VARCHAR(255))
        INSERT INTO customers (email, name, balance, external_id, created_at)
        VALUES (e, 'new', 0, UUID(), NOW())""",
]

NAMES = ["Zoë", "Ångström", "Łukasz", "山田", "Οδυσσέας", "Renée"]


def seed_mariadb(server: MariaDBServer, database: str, *, scale: float = 1.0) -> None:
    """About 50 MB at scale 1."""
    server.create_database(database)
    with server.connect(database) as conn, conn.cursor() as cursor:
        for statement in MARIADB_SEED:
            cursor.execute(statement)
        customers = int(200_000 * scale)
        cursor.execute(
            "INSERT INTO customers (email, name, balance, external_id, created_at) "
            "SELECT CONCAT('user', seq, '@example.com'), "
            "CONCAT(ELT(1 + seq MOD 6, %s, %s, %s, %s, %s, %s), ' ', LEFT(MD5(seq), 8)), "
            "ROUND(RAND() * 10000, 2), UUID(), "
            "TIMESTAMP '2020-01-01 00:00:00' + INTERVAL seq * 17 MINUTE "
            f"FROM seq_1_to_{customers}",
            NAMES,
        )
        documents = int(30_000 * scale)
        cursor.execute(
            "INSERT INTO documents (title, body) SELECT CONCAT('doc ', seq), "
            "UNHEX(REPEAT(CONCAT(MD5(RAND()), MD5(RAND()), MD5(RAND()), MD5(RAND())), 16)) "
            f"FROM seq_1_to_{documents}"
        )
        cursor.execute("SELECT SETVAL(invoice_no, 4242)")


MARIADB_TABLES = ["customers", "documents"]


def mariadb_fingerprint(server: MariaDBServer, database: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for table in MARIADB_TABLES:
        count = server.query(f"SELECT COUNT(*) FROM `{table}`", database)[0][0]
        checksum = server.query(f"CHECKSUM TABLE `{table}`", database)[0][1]
        result[table] = (count, checksum)
    # Read the sequence as a table: NEXTVAL would move it.
    result["invoice_no"] = server.query("SELECT next_not_cached_value FROM invoice_no", database)[
        0
    ][0]
    result["view"] = server.query("SELECT COUNT(*) FROM big_spenders", database)[0][0]
    result["function"] = str(server.query("SELECT with_tax(100)", database)[0][0])
    result["procedure"] = server.query(
        "SELECT COUNT(*) FROM information_schema.routines "
        "WHERE routine_schema = %s AND routine_name = 'add_customer'",
        database,
        [database],
    )[0][0]
    return result
