// A model of the probe stream's least possible detection work, for issue 18's CPU floor:
// how fast can 1,500,000 SYNs from random sources to random ports, 1,048,576 pending at most,
// each judged unanswered after the timeout, go on this machine? Not LightScope: no decoding,
// no capture, no tool fingerprint or options, no connections table, no slow-scan sketches,
// no events; only the memory each probe must touch.
//   pending:  a FIFO ring of 16-byte probes (the timeout is one constant, so probes expire in
//             arrival order) and an open-addressing index of 4-byte ring positions; an evicted
//             or judged probe's index entry is left stale and reused, never removed.
//   verdict:  a per-source record (16 B, direct-mapped, evicting) and a fold into a
//             (port, source /24, minute) table (16 B), both prefetched 8 probes ahead.
// Build and run: gcc -O2 -o /tmp/probemodel bench/probemodel.c && /tmp/probemodel 1500000 [prefetch 0|1]
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

enum { pendingCapacity = 1 << 20, indexSlots = 1 << 21, sourceSlots = 1 << 18, foldSlots = 1 << 21 };
enum { timeoutMillis = 10000, prefetchAhead = 8 };

typedef struct { uint32_t source, destination; uint16_t sourcePort, port; uint32_t millis; } Probe;
typedef struct { uint32_t source, firstMillis, attempts, lastMillis; } Source;
typedef struct { uint32_t network; uint16_t port, minute; uint32_t count, sample; } Fold;

static Probe *ring;         // pending probes, oldest at head
static uint32_t *index_;    // ring position + 1, or 0; stale once the position is below head
static Source *sources;
static Fold *folds;
static uint64_t head, tail, judged, lost, sourceEvictions, foldsUsed;

static void *hugePages(size_t bytes) {
    size_t huge = 2 << 20;
    bytes = (bytes + huge - 1) & ~(huge - 1);
    char *p = mmap(0, bytes + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *aligned = (void *)(((uintptr_t)p + huge - 1) & ~(huge - 1));
    madvise(aligned, bytes, MADV_HUGEPAGE);
    memset(aligned, 0, bytes);
    return aligned;
}

static inline uint64_t mix(uint64_t x) {
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}
static inline uint32_t indexSlot(const Probe *p) {
    uint64_t ports = ((uint64_t)p->sourcePort << 16 | p->port) * 0x9E3779B97F4A7C15ULL;
    return mix(((uint64_t)p->source << 32 | p->destination) ^ ports) & (indexSlots - 1);
}
static inline uint32_t sourceSlot(const Probe *p) { return mix(p->source) & (sourceSlots - 1); }
static inline uint32_t foldSlot(const Probe *p) {
    uint64_t key = (uint64_t)(p->source >> 8) << 32 | (uint32_t)p->port << 16 | (p->millis / 60000);
    return mix(key) & (foldSlots - 1);
}

static void insert(const Probe *p) {
    if (tail - head == pendingCapacity) { lost++; head++; }   // evict the oldest: its entry goes stale
    uint32_t slot = indexSlot(p);
    for (;;) {
        uint32_t entry = index_[slot];
        if (entry == 0 || entry - 1 < head) break;            // free, or stale: reuse it
        slot = (slot + 1) & (indexSlots - 1);
    }
    ring[tail & (pendingCapacity - 1)] = *p;
    index_[slot] = (uint32_t)(tail + 1);
    tail++;
}

static void judge(const Probe *p) {
    judged++;
    Source *s = &sources[sourceSlot(p)];
    if (s->source != p->source) {
        if (s->source) sourceEvictions++;
        *s = (Source){ p->source, p->millis, 0, 0 };
    }
    s->attempts++;
    s->lastMillis = p->millis;
    uint32_t network = p->source >> 8;
    uint16_t minute = p->millis / 60000;
    for (uint32_t slot = foldSlot(p);; slot = (slot + 1) & (foldSlots - 1)) {
        Fold *f = &folds[slot];
        if (f->count == 0) { *f = (Fold){ network, p->port, minute, 1, p->source }; foldsUsed++; break; }
        if (f->network == network && f->port == p->port && f->minute == minute) { f->count++; break; }
    }
    if (foldsUsed > foldSlots / 2) { memset(folds, 0, sizeof(Fold) * foldSlots); foldsUsed = 0; }  // blocks closed
}

static void expire(uint32_t nowMillis, int prefetch) {
    while (head < tail && nowMillis - ring[head & (pendingCapacity - 1)].millis >= timeoutMillis) {
        if (prefetch) {
            const Probe *next = &ring[(head + prefetchAhead) & (pendingCapacity - 1)];
            __builtin_prefetch(&sources[sourceSlot(next)], 1);
            __builtin_prefetch(&folds[foldSlot(next)], 1);
        }
        judge(&ring[head & (pendingCapacity - 1)]);
        head++;
    }
}

static double nanosSince(struct timespec start) {
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    return (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
}

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 1500000;
    int prefetch = argc > 2 ? atoi(argv[2]) : 1;
    ring = hugePages(sizeof(Probe) * pendingCapacity);
    index_ = hugePages(sizeof(uint32_t) * indexSlots);
    sources = hugePages(sizeof(Source) * sourceSlots);
    folds = hugePages(sizeof(Fold) * foldSlots);
    Probe *flood = malloc(sizeof(Probe) * count);   // random 10/8 sources, ports 1024-65535, 350,000/s
    uint64_t r = 12345;
    for (long i = 0; i < count; i++) {
        r = mix(r + i);
        flood[i] = (Probe){ 10u << 24 | (uint32_t)(r & 0xffffff), 0xc0000201, (uint16_t)(r >> 24),
                            (uint16_t)(1024 + (r >> 40) % 64512), (uint32_t)(i / 350) };
    }
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < count; i++) {
        if (prefetch && i + prefetchAhead < count) __builtin_prefetch(&index_[indexSlot(&flood[i + prefetchAhead])], 1);
        insert(&flood[i]);
    }
    double arrival = nanosSince(start);
    clock_gettime(CLOCK_MONOTONIC, &start);
    expire(UINT32_MAX, prefetch);
    double verdicts = nanosSince(start);
    printf("arrival %.0f ns a SYN, verdict %.0f ns a judged probe, %.0f ns a packet; judged %lu, lost %lu, source evictions %lu\n",
           arrival / count, verdicts / judged, (arrival + verdicts) / count, judged, lost, sourceEvictions);
    return 0;
}
