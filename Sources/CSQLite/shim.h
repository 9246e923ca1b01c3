#ifndef LIGHTSCOPE_CSQLITE_H
#define LIGHTSCOPE_CSQLITE_H
#include <sqlite3.h>
#endif
