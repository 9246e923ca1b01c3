#ifndef LIGHTSCOPE_CSQLITE_H
#define LIGHTSCOPE_CSQLITE_H
#include <sqlite3.h>

/* sqlite3_config is variadic, which Swift cannot call: this one call of it, for Swift.
 * SQLite's memory statistics take a process-wide mutex around every allocation. */
static inline int lightscope_sqlite3_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
#endif
