/* The prefetch is all in the header (static inline); TableRemap.c is the module's other source. */
#include "CPrefetch.h"
