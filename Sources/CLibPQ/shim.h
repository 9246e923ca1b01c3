#ifndef LIGHTSCOPE_CLIBPQ_H
#define LIGHTSCOPE_CLIBPQ_H
#include <libpq-fe.h>
#endif
