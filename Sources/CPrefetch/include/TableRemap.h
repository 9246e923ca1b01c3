#ifndef LIGHTSCOPE_TABLE_REMAP_H
#define LIGHTSCOPE_TABLE_REMAP_H

#include <stddef.h>

/* Resizes an anonymous mapping of `old_size` bytes (whole pages) to `new_size`, moving it if
   it must (mremap with MREMAP_MAYMOVE): the pages it has keep their contents without a copy,
   and pages added at the end are fresh zeroes, committed at their first touch. Returns the
   mapping's new start, or NULL if the kernel said no (the old mapping is then unchanged).
   mremap is variadic in C, which Swift cannot call: this is the fixed-argument form. */
void *lightscope_remap(void *old_address, size_t old_size, size_t new_size);

/* `lightscope_remap`, to `target` (MREMAP_MAYMOVE | MREMAP_FIXED): the new mapping replaces
   whatever was mapped at `target`, for `new_size` bytes (a reservation made for it). Returns
   `target`, or NULL if the kernel said no (both mappings are then unchanged). */
void *lightscope_remap_to(void *old_address, size_t old_size, size_t new_size, void *target);

/* Maps every page of `length` bytes at `start` (whole pages) writable now, zeroed where new,
   in one call (madvise MADV_POPULATE_WRITE, Linux 5.14): for memory about to be written all
   over at random, whose first touch would otherwise be a read (the shared zero page) and then
   a write (a copy of it), two page faults a page. Returns 0, or -1 if the kernel declined
   (nothing is lost: the pages are then mapped at their first touch as before). */
int lightscope_populate_write(void *start, size_t length);

#endif
