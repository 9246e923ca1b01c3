#ifndef LIGHTSCOPE_CPREFETCH_H
#define LIGHTSCOPE_CPREFETCH_H

/* A hint to start loading the cache line at `address` now, because it will be read soon.
   Never faults, never changes memory: any address is allowed, even one past an array.
   Swift has no spelling for it, so this one line of C is all of this header (the module's
   other, TableRemap.h, is the tables' mremap). */
static inline void lightscope_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
