// bench/probemodel.c with tables a daemon could use, for issue 18's CPU floor: what does the
// probe stream's least work cost when the tables must answer lookups and keep what they hold
// exactly? The probe model's index left an evicted or judged probe's entry stale, reused by an
// insert that passed it, and no lookup could get past such entries; its per-source record was
// direct-mapped, so two sources could push each other out at any load.
//   pending:  a FIFO ring of 16-byte probes and an index of 4-byte buckets over it; an insert
//             first looks its key up (a retransmission finds its probe); at capacity the
//             oldest probe is evicted.
//   tier:     LightScope's first-failure tier: a judged probe's source is held (a 16-byte
//             record in a FIFO ring, an index over it), its second failure takes it out; at
//             capacity the oldest is evicted. Exact: two sources never share a record.
//   fold:     as in the probe model (bench/model.h).
// A bucket is distance 4 | ring slot S | lap 2 | tag (26 - S) bits: the distance spares a
// removal the hash of the entries it shifts, the lap tells a stale bucket from a live one.
// Removal of a probe or source taken from the front (evicted, judged):
//   mode 0, eager: at once, LightScope's way: the bucket is found from its home, hashed when
//           the record was 8 from the front (and prefetched then), and the rest of its
//           cluster shifted back.
//   mode 1, lazy: never at once: the bucket goes stale (its ring position is behind the
//           front), lookups pass it, an insert takes the first stale bucket on its walk, and
//           a sweep of the whole index removes the stale ones when they are an eighth of it.
// Build and run: gcc -O2 -o /tmp/flatmodel bench/flatmodel.c && /tmp/flatmodel 1500000 [mode 0|1] [verify|none]
// `verify` checks, untimed, that every held key is found at its position and nothing else is;
// `none` only makes the flood: callgrind's baseline, taken off the instructions a packet.
#include <stdio.h>
#include "model.h"

enum { pendingSlotBits = 20, tierSlotBits = 18, hintCount = 16 };

typedef struct { uint32_t source, destination; uint16_t port, isTaken; uint32_t millis; } FirstFailure;

// A FIFO ring of records from `head` to `tail` (positions that only grow) and its index, at
// most half full of live entries.
typedef struct {
    void *ring;
    uint32_t *index;
    uint32_t mask, slotBits, capacity;
    uint64_t head, tail, stale, sweeps, evictions;
    uint64_t sweptAtTail;        // lazy: the tail at the last sweep
    uint32_t hints[hintCount];   // by ring position: the home of a record about to be removed
} Table;

static Table pending, tier;
static int lazy;
static uint64_t judged, lost, secondFailures;

static void tableInit(Table *t, uint32_t slotBits, size_t stride) {
    memset(t, 0, sizeof *t);
    t->slotBits = slotBits;
    t->capacity = 1u << slotBits;
    t->mask = (2u << slotBits) - 1;
    t->ring = hugePages(stride << slotBits);
    t->index = hugePages(sizeof(uint32_t) * (t->mask + 1));
}

static inline Probe *probeAt(uint64_t position) { return &((Probe *)pending.ring)[position & (pending.capacity - 1)]; }
static inline FirstFailure *failureAt(uint64_t position) { return &((FirstFailure *)tier.ring)[position & (tier.capacity - 1)]; }
static inline uint64_t sourceHash(uint32_t source) { return mix(source ^ 0x5bd1e995u); }
static uint32_t probeHome(uint32_t slot) { return probeHash(probeAt(slot)); }
static uint32_t failureHome(uint32_t slot) { return sourceHash(failureAt(slot)->source); }

static inline uint32_t distanceOf(uint32_t e) { return e & 15; }
static inline uint32_t slotOf(const Table *t, uint32_t e) { return (e >> 4) & (t->capacity - 1); }
static inline uint32_t lapOf(const Table *t, uint32_t e) { return (e >> (4 + t->slotBits)) & 3; }
static inline uint32_t tagOf(const Table *t, uint32_t e) { return e >> (6 + t->slotBits); }
static inline uint32_t hashTag(const Table *t, uint64_t hash) { return (uint32_t)(hash >> (38 + t->slotBits)); }
static inline uint32_t entry(const Table *t, uint32_t distance, uint64_t position, uint32_t tag) {
    return (distance > 15 ? 15 : distance) | (uint32_t)(position & (t->capacity - 1)) << 4
        | (uint32_t)((position >> t->slotBits) & 3) << (4 + t->slotBits) | tag << (6 + t->slotBits);
}
// The ring position of a live entry.
static inline uint64_t positionOf(const Table *t, uint32_t e) { return t->head + ((slotOf(t, e) - t->head) & (t->capacity - 1)); }
// Whether an entry's record is held: its position is in [head, tail), and of its lap.
static inline int isLive(const Table *t, uint32_t e) {
    uint64_t position = positionOf(t, e);
    return position < t->tail && ((position >> t->slotBits) & 3) == lapOf(t, e);
}

// Empties `bucket` and shifts the rest of its cluster back. `home(slot)` hashes a record whose
// distance was too long to keep. (A stale entry's record may have been overwritten: its
// shift can then be wrong, which no lookup sees, as none matches it.)
static inline __attribute__((always_inline)) void removeBucket(Table *t, uint32_t bucket, uint32_t (*home)(uint32_t)) {
    uint32_t hole = bucket, next = (bucket + 1) & t->mask;
    while (t->index[next] != 0) {
        uint32_t moving = t->index[next], gap = (next - hole) & t->mask, distance = distanceOf(moving);
        if (distance == 15) {
            uint32_t at = home(slotOf(t, moving)) & t->mask;
            if (((next - at) & t->mask) >= gap) {
                uint32_t moved = (hole - at) & t->mask;
                t->index[hole] = (moving & ~15u) | (moved > 14 ? 15 : moved);
                hole = next;
            }
        } else if (distance >= gap) {
            t->index[hole] = moving - gap;
            hole = next;
        }
        next = (next + 1) & t->mask;
    }
    t->index[hole] = 0;
}

// Lazy: removes every stale entry, in one pass from an empty bucket round the index.
static inline __attribute__((always_inline)) void sweep(Table *t, uint32_t (*home)(uint32_t)) {
    t->sweeps++;
    uint32_t start = 0;
    while (t->index[start] != 0) start++;
    uint32_t bucket = (start + 1) & t->mask;
    for (uint32_t walked = 1; walked <= t->mask;) {
        uint32_t e = t->index[bucket];
        if (e != 0 && !isLive(t, e)) { removeBucket(t, bucket, home); continue; }   // re-read: an entry moved in
        bucket = (bucket + 1) & t->mask;
        walked++;
    }
    t->stale = 0;
    t->sweptAtTail = t->tail;
}

// Lazy: whether to sweep before an insert. A stale bucket four laps old would look live again:
// no bucket stays stale for three.
static inline int needsSweep(const Table *t) {
    return lazy && (t->stale >= (t->mask + 1) / 8 || t->tail - t->sweptAtTail >= 3 * (uint64_t)t->capacity);
}

// Eager: notes the home of the record `prefetchAhead` from the front, and prefetches its bucket.
static inline void hintAhead(Table *t, uint64_t hash) {
    uint64_t position = t->head + prefetchAhead;
    uint32_t home = hash & t->mask;
    t->hints[position & (hintCount - 1)] = home;
    __builtin_prefetch(&t->index[home], 1);
}
static inline void hintPending(void) {
    if (!lazy && pending.head + prefetchAhead < pending.tail) hintAhead(&pending, probeHash(probeAt(pending.head + prefetchAhead)));
}
static inline void hintTier(void) {
    uint64_t position = tier.head + prefetchAhead;
    if (!lazy && position < tier.tail && !failureAt(position)->isTaken) hintAhead(&tier, sourceHash(failureAt(position)->source));
}

// The bucket of the live record in `slot`: the walk starts at its hint, and at its home if
// the hint was wrong (it met an empty bucket first).
static inline __attribute__((always_inline)) uint32_t bucketOfSlot(const Table *t, uint32_t slot, uint32_t hint, uint32_t (*home)(uint32_t)) {
    for (uint32_t bucket = hint & t->mask;; bucket = (bucket + 1) & t->mask) {
        if (t->index[bucket] == 0) break;
        if (slotOf(t, t->index[bucket]) == slot) return bucket;
    }
    uint32_t bucket = home(slot) & t->mask;
    while (slotOf(t, t->index[bucket]) != slot) bucket = (bucket + 1) & t->mask;
    return bucket;
}

// Takes out the front record, which has a bucket (eager: removed; lazy: left stale).
static inline __attribute__((always_inline)) void takeFront(Table *t, uint32_t (*home)(uint32_t)) {
    if (lazy) {
        t->stale++;
    } else {
        uint32_t slot = t->head & (t->capacity - 1);
        removeBucket(t, bucketOfSlot(t, slot, t->hints[t->head & (hintCount - 1)], home), home);
    }
    t->head++;
}

// Where a lookup of `hash` stops: the bucket of the live entry `isMatch` accepts (found), or
// the bucket an insert takes (the first stale one passed, lazy, else the first empty one).
typedef struct { uint32_t bucket; int found; } Stop;
static inline __attribute__((always_inline)) Stop walk(const Table *t, uint64_t hash, int (*isMatch)(uint64_t, const void *), const void *key) {
    uint32_t tag = hashTag(t, hash), reuse = UINT32_MAX;
    for (uint32_t bucket = hash & t->mask;; bucket = (bucket + 1) & t->mask) {
        uint32_t e = t->index[bucket];
        if (e == 0) return (Stop){ reuse != UINT32_MAX ? reuse : bucket, 0 };
        if (lazy && !isLive(t, e)) { if (reuse == UINT32_MAX) reuse = bucket; continue; }
        if (tagOf(t, e) == tag && isMatch(positionOf(t, e), key)) return (Stop){ bucket, 1 };
    }
}

// Appends a record's entry at `tail` in `bucket` (the stop of a walk that found nothing).
static inline void indexTail(Table *t, uint32_t bucket, uint64_t hash) {
    if (lazy && t->index[bucket] != 0) t->stale--;   // a stale bucket, taken
    t->index[bucket] = entry(t, (bucket - (uint32_t)hash) & t->mask, t->tail, hashTag(t, hash));
    t->tail++;
}

// The first empty bucket from `hash`'s home: an eager removal may have emptied one on the walk.
static inline uint32_t firstEmpty(const Table *t, uint64_t hash) {
    uint32_t bucket = hash & t->mask;
    while (t->index[bucket] != 0) bucket = (bucket + 1) & t->mask;
    return bucket;
}

static int isProbe(uint64_t position, const void *key) {
    const Probe *p = key, *q = probeAt(position);
    return q->source == p->source && q->destination == p->destination && q->sourcePort == p->sourcePort && q->port == p->port;
}
static int isSource(uint64_t position, const void *key) {
    return !failureAt(position)->isTaken && failureAt(position)->source == *(const uint32_t *)key;
}

static void arrive(const Probe *p) {
    if (needsSweep(&pending)) sweep(&pending, probeHome);
    uint64_t hash = probeHash(p);
    Stop stop = walk(&pending, hash, isProbe, p);
    if (stop.found) return;   // a retransmission: counted into its probe
    if (pending.tail - pending.head == pending.capacity) {
        lost++;
        takeFront(&pending, probeHome);
        if (!lazy) stop.bucket = firstEmpty(&pending, hash);
    }
    *probeAt(pending.tail) = *p;
    indexTail(&pending, stop.bucket, hash);
}

// The tier's part of a verdict: a source's first failure is held, its second takes it out.
static void holdOrTake(const Probe *p) {
    if (needsSweep(&tier)) sweep(&tier, failureHome);
    uint64_t hash = sourceHash(p->source);
    Stop stop = walk(&tier, hash, isSource, &p->source);
    if (stop.found) {
        secondFailures++;
        failureAt(positionOf(&tier, tier.index[stop.bucket]))->isTaken = 1;   // left dead in its place
        removeBucket(&tier, stop.bucket, failureHome);
        return;
    }
    if (tier.tail - tier.head == tier.capacity) {
        tier.evictions++;
        hintTier();
        while (failureAt(tier.head)->isTaken) tier.head++;   // dead: no bucket
        takeFront(&tier, failureHome);
        if (!lazy) stop.bucket = firstEmpty(&tier, hash);
    }
    *failureAt(tier.tail) = (FirstFailure){ p->source, p->destination, p->port, 0, p->millis };
    indexTail(&tier, stop.bucket, hash);
}

static void expire(uint32_t nowMillis) {
    while (pending.head < pending.tail && nowMillis - probeAt(pending.head)->millis >= timeoutMillis) {
        const Probe *next = probeAt(pending.head + prefetchAhead);
        __builtin_prefetch(&tier.index[sourceHash(next->source) & tier.mask], 1);
        __builtin_prefetch(&folds[foldSlot(next)], 1);
        hintPending();
        judged++;
        holdOrTake(probeAt(pending.head));
        fold(probeAt(pending.head));
        takeFront(&pending, probeHome);
    }
}

// Untimed: every held record is found at its own position, and no other bucket is live.
static void verify(const Table *t, const char *name, int isPending) {
    uint64_t held = 0, live = 0;
    for (uint32_t bucket = 0; bucket <= t->mask; bucket++) live += t->index[bucket] != 0 && (!lazy || isLive(t, t->index[bucket]));
    for (uint64_t position = t->head; position < t->tail; position++) {
        if (!isPending && failureAt(position)->isTaken) continue;
        held++;
        uint64_t hash = isPending ? probeHash(probeAt(position)) : sourceHash(failureAt(position)->source);
        for (uint32_t bucket = hash & t->mask;; bucket = (bucket + 1) & t->mask) {
            uint32_t e = t->index[bucket];
            if (e == 0) { fprintf(stderr, "%s: position %lu not found\n", name, position); exit(1); }
            if ((!lazy || isLive(t, e)) && positionOf(t, e) == position) break;
        }
    }
    if (held != live) { fprintf(stderr, "%s: %lu held, %lu live buckets\n", name, held, live); exit(1); }
}

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 1500000;
    lazy = argc > 2 ? atoi(argv[2]) : 0;
    int verifying = argc > 3 && strcmp(argv[3], "verify") == 0;
    tableInit(&pending, pendingSlotBits, sizeof(Probe));
    tableInit(&tier, tierSlotBits, sizeof(FirstFailure));
    folds = hugePages(sizeof(Fold) * foldSlots);
    Probe *flood = makeFlood(count);
    if (argc > 3 && strcmp(argv[3], "none") == 0) return 0;   // the flood made, nothing run: callgrind's baseline
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < count; i++) {
        if (i + prefetchAhead < count) __builtin_prefetch(&pending.index[probeHash(&flood[i + prefetchAhead]) & pending.mask], 1);
        if (pending.tail - pending.head >= pending.capacity - prefetchAhead) hintPending();   // an eviction comes
        arrive(&flood[i]);
    }
    double arrival = nanosSince(start);
    if (verifying) verify(&pending, "pending", 1);
    clock_gettime(CLOCK_MONOTONIC, &start);
    expire(UINT32_MAX);
    double verdicts = nanosSince(start);
    if (verifying) { verify(&pending, "pending", 1); verify(&tier, "tier", 0); }
    printf("%s: arrival %.0f ns a SYN, verdict %.0f ns a judged probe, %.0f ns a packet; judged %lu, lost %lu, "
           "tier evictions %lu, second failures %lu, sweeps %lu + %lu%s\n",
           lazy ? "lazy" : "eager", arrival / count, verdicts / judged, (arrival + verdicts) / count, judged, lost,
           tier.evictions, secondFailures, pending.sweeps, tier.sweeps, verifying ? ", verified" : "");
    return 0;
}
