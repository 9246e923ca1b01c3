// A model of the probe stream's least possible detection work, for issue 18's CPU floor:
// how fast can 1,500,000 SYNs from random sources to random ports, 1,048,576 pending at most,
// each judged unanswered after the timeout, go on this machine? Not LightScope: no decoding,
// no capture, no tool fingerprint or options, no connections table, no slow-scan sketches,
// no events; only the memory each probe must touch.
//   pending:  a FIFO ring of 16-byte probes (the timeout is one constant, so probes expire in
//             arrival order) and an open-addressing index of 4-byte ring positions; an evicted
//             or judged probe's index entry is left stale and reused, never removed. (No lookup
//             could get past such entries: bench/flatmodel.c has tables that answer lookups.)
//   verdict:  a per-source record (16 B, direct-mapped, evicting) and a fold into a
//             (port, source /24, minute) table (16 B), both prefetched 8 probes ahead.
// Build and run: gcc -O2 -o /tmp/probemodel bench/probemodel.c && /tmp/probemodel 1500000 [prefetch 0|1]
#include <stdio.h>
#include "model.h"

enum { pendingCapacity = 1 << 20, indexSlots = 1 << 21, sourceSlots = 1 << 18 };

typedef struct { uint32_t source, firstMillis, attempts, lastMillis; } Source;

static Probe *ring;         // pending probes, oldest at head
static uint32_t *index_;    // ring position + 1, or 0; stale once the position is below head
static Source *sources;
static uint64_t head, tail, judged, lost, sourceEvictions;

static inline uint32_t indexSlot(const Probe *p) { return probeHash(p) & (indexSlots - 1); }
static inline uint32_t sourceSlot(const Probe *p) { return mix(p->source) & (sourceSlots - 1); }

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
    fold(p);
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

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 1500000;
    int prefetch = argc > 2 ? atoi(argv[2]) : 1;
    ring = hugePages(sizeof(Probe) * pendingCapacity);
    index_ = hugePages(sizeof(uint32_t) * indexSlots);
    sources = hugePages(sizeof(Source) * sourceSlots);
    folds = hugePages(sizeof(Fold) * foldSlots);
    Probe *flood = makeFlood(count);
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
