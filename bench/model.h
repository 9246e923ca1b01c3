// What bench/probemodel.c and bench/flatmodel.c share: the flood, its probes, the fold of a
// judged probe into a (port, source /24, minute) table, huge-page memory and the clock.
#ifndef LIGHTSCOPE_BENCH_MODEL_H
#define LIGHTSCOPE_BENCH_MODEL_H
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

enum { foldSlots = 1 << 21, timeoutMillis = 10000, prefetchAhead = 8 };

typedef struct { uint32_t source, destination; uint16_t sourcePort, port; uint32_t millis; } Probe;
typedef struct { uint32_t network; uint16_t port, minute; uint32_t count, sample; } Fold;

static Fold *folds;
static uint64_t foldsUsed;

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

static inline uint64_t probeHash(const Probe *p) {
    uint64_t ports = ((uint64_t)p->sourcePort << 16 | p->port) * 0x9E3779B97F4A7C15ULL;
    return mix(((uint64_t)p->source << 32 | p->destination) ^ ports);
}

static inline uint32_t foldSlot(const Probe *p) {
    uint64_t key = (uint64_t)(p->source >> 8) << 32 | (uint32_t)p->port << 16 | (p->millis / 60000);
    return mix(key) & (foldSlots - 1);
}

// Counts a judged probe into its aggregate; a table half full is emptied (its blocks closed).
static inline void fold(const Probe *p) {
    uint32_t network = p->source >> 8;
    uint16_t minute = p->millis / 60000;
    for (uint32_t slot = foldSlot(p);; slot = (slot + 1) & (foldSlots - 1)) {
        Fold *f = &folds[slot];
        if (f->count == 0) { *f = (Fold){ network, p->port, minute, 1, p->source }; foldsUsed++; break; }
        if (f->network == network && f->port == p->port && f->minute == minute) { f->count++; break; }
    }
    if (foldsUsed > foldSlots / 2) { memset(folds, 0, sizeof(Fold) * foldSlots); foldsUsed = 0; }
}

// `count` SYNs from random 10/8 sources to ports 1024-65535 of one address, 350,000 a second.
static Probe *makeFlood(long count) {
    Probe *flood = malloc(sizeof(Probe) * count);
    uint64_t r = 12345;
    for (long i = 0; i < count; i++) {
        r = mix(r + i);
        flood[i] = (Probe){ 10u << 24 | (uint32_t)(r & 0xffffff), 0xc0000201, (uint16_t)(r >> 24),
                            (uint16_t)(1024 + (r >> 40) % 64512), (uint32_t)(i / 350) };
    }
    return flood;
}

static double nanosSince(struct timespec start) {
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    return (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
}

#endif
