/* Everything is in the header (static inline); SwiftPM needs one C source per target. */
#include "CPrefetch.h"
