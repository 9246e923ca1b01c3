#!/usr/bin/env python3
# What writing a flood's blocks costs the writer's CPU, by how they are kept (issue 18: the
# store's writer is one of the two stages the probe stream's floor needs halved). LightScope's
# store as it is (SQLite 3.40 in WAL mode, the events table and its indexes, one 9 KiB block a
# row, 64 rows a transaction, checkpoints at 2 MiB), and other ways to keep the same bytes;
# per probe, a block holding 1,024 probes' aggregates. Not LightScope's code: its schema and
# settings, from Python's sqlite3 (the same libsqlite3), in a directory under /var/tmp.
#   wal          as shipped;
#   wal-noindex  without the table's indexes;
#   wal-8m       checkpoints at 8 MiB;
#   truncate     a rollback journal instead of the log;
#   append       a plain file, each block one write(2), fdatasync after every 64.
# Usage: python3 bench/blockcost.py MODE [BLOCKS] [ROUNDS]
import os, resource, sqlite3, sys, tempfile, time

mode = sys.argv[1]
blocks = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
blockBytes = 9216
perTransaction = 64
probesPerBlock = 1024

def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime

def sqliteStore(path, journal, checkpointPages, indexes=True):
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA auto_vacuum = INCREMENTAL")
    db.execute("PRAGMA journal_mode = %s" % journal)
    db.execute("PRAGMA synchronous = NORMAL")
    if checkpointPages: db.execute("PRAGMA wal_autocheckpoint = %d" % checkpointPages)
    db.executescript("""
        CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, time_ns INTEGER NOT NULL,
            interface TEXT NOT NULL, proto TEXT NOT NULL, src TEXT NOT NULL, sport INTEGER, dst TEXT,
            dport INTEGER, verdict TEXT NOT NULL, packets INTEGER NOT NULL, ttl INTEGER, window INTEGER,
            tcp_options TEXT, ports INTEGER, addresses INTEGER, tool TEXT NOT NULL DEFAULT 'unknown',
            tcp_flags TEXT, answer TEXT, aggregated INTEGER, samples TEXT, block BLOB);
    """)
    if indexes:
        db.executescript("""
            CREATE INDEX events_time ON events (time_ns);
            CREATE INDEX events_verdict ON events (verdict, time_ns);
            CREATE INDEX events_tool ON events (tool, time_ns);
        """)
    return db

def runSQLite(journal, checkpointPages, indexes=True):
    d = tempfile.mkdtemp(dir="/var/tmp")
    db = sqliteStore(os.path.join(d, "events.db"), journal, checkpointPages, indexes)
    payloads = [os.urandom(blockBytes) for _ in range(16)]
    start, wall = cpu(), time.monotonic()
    t = 1_700_000_000_000_000_000
    for i in range(0, blocks, perTransaction):
        db.execute("BEGIN")
        for j in range(i, min(blocks, i + perTransaction)):
            db.execute("INSERT INTO events (time_ns, interface, proto, src, dst, verdict, packets, tool, tcp_flags, aggregated, block)"
                       " VALUES (?, 'lsc0', 'tcp', '0.0.0.0/0', '10.0.0.1', 'unanswered', 1024, 'unknown', 'S', 1024, ?)",
                       (t + j * 2_000_000, payloads[j % 16]))
        db.execute("COMMIT")
    used = cpu() - start
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    db.close()
    for f in os.listdir(d): os.unlink(os.path.join(d, f))
    os.rmdir(d)
    return used, time.monotonic() - wall, size

def runAppend():
    d = tempfile.mkdtemp(dir="/var/tmp")
    path = os.path.join(d, "blocks")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    payloads = [os.urandom(blockBytes) for _ in range(16)]
    start, wall = cpu(), time.monotonic()
    for i in range(0, blocks, perTransaction):
        for j in range(i, min(blocks, i + perTransaction)):
            os.write(fd, payloads[j % 16])
        os.fdatasync(fd)
    used = cpu() - start
    size = os.path.getsize(path)
    os.close(fd)
    os.unlink(path)
    os.rmdir(d)
    return used, time.monotonic() - wall, size

modes = {
    "wal": lambda: runSQLite("WAL", 512),               # as shipped: 2 MiB checkpoints
    "wal-noindex": lambda: runSQLite("WAL", 512, False),
    "wal-8m": lambda: runSQLite("WAL", 2048),
    "truncate": lambda: runSQLite("TRUNCATE", 0),       # a rollback journal
    "append": runAppend,                                # a plain file, synced per 64 blocks
}
for r in range(rounds):
    used, wall, size = modes[mode]()
    print("%-12s %d blocks: CPU %.1f ms, %.1f ns a probe, %.1f us a block; wall %.0f ms; %.2f bytes on disk a probe"
          % (mode, blocks, used * 1e3, used * 1e9 / (blocks * probesPerBlock), used * 1e6 / blocks, wall * 1e3,
             size / (blocks * probesPerBlock)))
