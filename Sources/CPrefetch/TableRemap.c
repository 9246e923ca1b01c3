/* The C side of TableRemap.h: mremap needs _GNU_SOURCE, set before any system header. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include "TableRemap.h"

void *lightscope_remap(void *old_address, size_t old_size, size_t new_size) {
    void *moved = mremap(old_address, old_size, new_size, MREMAP_MAYMOVE);
    return moved == MAP_FAILED ? NULL : moved;
}

void *lightscope_remap_to(void *old_address, size_t old_size, size_t new_size, void *target) {
    void *moved = mremap(old_address, old_size, new_size, MREMAP_MAYMOVE | MREMAP_FIXED, target);
    return moved == MAP_FAILED ? NULL : moved;
}

int lightscope_populate_write(void *start, size_t length) {
#ifdef MADV_POPULATE_WRITE
    return madvise(start, length, MADV_POPULATE_WRITE);
#else
    return madvise(start, length, 23);
#endif
}
