/* libpq through dlopen(3): see include/CLibPQ.h for why. Each PQ* function LightScope calls is
   defined here with libpq's own prototype (the compiler checks it against libpq-fe.h) and
   forwards to the real one. Hidden, so that libpq's calls to its own functions never come back
   here. Without libpq (not installed), a call fails as libpq fails: NULL, -1 or an error text. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC visibility push(hidden)
#include "CLibPQ.h"
#pragma GCC visibility pop

/* The package's Depends names libpq5 (packaging/build-deb.sh): this is its soname. */
static const char *const library_name = "libpq.so.5";

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static void *library;
static char load_error[256];

static void load(void) {
    library = dlopen(library_name, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *reason = dlerror();
        snprintf(load_error, sizeof load_error, "%s", reason ? reason : "dlopen failed");
    }
}

int lightscope_pq_load(char *reason, unsigned long size) {
    pthread_once(&load_once, load);
    if (library != NULL) return 1;
    if (reason != NULL && size > 0) snprintf(reason, size, "cannot load %s (%s)", library_name, load_error);
    return 0;
}

/* The address of libpq's `name`, looked up once; NULL without libpq. */
static void *symbol(void **cache, const char *name) {
    void *found = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
    if (found != NULL) return found;
    if (!lightscope_pq_load(NULL, 0)) return NULL;
    found = dlsym(library, name);
    __atomic_store_n(cache, found, __ATOMIC_RELEASE);
    return found;
}

#define REAL(name) \
    static void *name##_cache; \
    __typeof__(&name) real = (__typeof__(&name))symbol(&name##_cache, #name)

/* A function that returns `fallback` without libpq. */
#define FORWARD(type, name, parameters, arguments, fallback) \
    type name parameters { \
        REAL(name); \
        return real != NULL ? real arguments : (fallback); \
    }
/* A void function that does nothing without libpq. */
#define FORWARD_VOID(name, parameters, arguments) \
    void name parameters { \
        REAL(name); \
        if (real != NULL) real arguments; \
    }

FORWARD(PGconn *, PQconnectStartParams,
        (const char *const *keywords, const char *const *values, int expand_dbname),
        (keywords, values, expand_dbname), NULL)
FORWARD(PostgresPollingStatusType, PQconnectPoll, (PGconn *conn), (conn), PGRES_POLLING_FAILED)
FORWARD(ConnStatusType, PQstatus, (const PGconn *conn), (conn), CONNECTION_BAD)
FORWARD(char *, PQerrorMessage, (const PGconn *conn), (conn), "libpq is not loaded\n")
FORWARD(int, PQsocket, (const PGconn *conn), (conn), -1)
FORWARD(int, PQsetnonblocking, (PGconn *conn, int arg), (conn, arg), -1)
FORWARD(int, PQsslInUse, (PGconn *conn), (conn), 0)
FORWARD(int, PQserverVersion, (const PGconn *conn), (conn), 0)
FORWARD_VOID(PQfinish, (PGconn *conn), (conn))
FORWARD(int, PQsendQuery, (PGconn *conn, const char *query), (conn, query), 0)
FORWARD(int, PQsendQueryParams,
        (PGconn *conn, const char *command, int nParams, const Oid *paramTypes,
         const char *const *paramValues, const int *paramLengths, const int *paramFormats, int resultFormat),
        (conn, command, nParams, paramTypes, paramValues, paramLengths, paramFormats, resultFormat), 0)
FORWARD(int, PQflush, (PGconn *conn), (conn), -1)
FORWARD(int, PQconsumeInput, (PGconn *conn), (conn), 0)
FORWARD(int, PQisBusy, (PGconn *conn), (conn), 0)
FORWARD(PGresult *, PQgetResult, (PGconn *conn), (conn), NULL)
FORWARD(ExecStatusType, PQresultStatus, (const PGresult *res), (res), PGRES_FATAL_ERROR)
FORWARD(char *, PQresultErrorMessage, (const PGresult *res), (res), "libpq is not loaded\n")
FORWARD(char *, PQresultErrorField, (const PGresult *res, int fieldcode), (res, fieldcode), NULL)
FORWARD(int, PQntuples, (const PGresult *res), (res), 0)
FORWARD(int, PQnfields, (const PGresult *res), (res), 0)
FORWARD(char *, PQgetvalue, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num), "")
FORWARD(int, PQgetisnull, (const PGresult *res, int tup_num, int field_num), (res, tup_num, field_num), 1)
FORWARD(char *, PQcmdTuples, (PGresult *res), (res), "")
FORWARD_VOID(PQclear, (PGresult *res), (res))
FORWARD(char *, PQencryptPasswordConn,
        (PGconn *conn, const char *passwd, const char *user, const char *algorithm),
        (conn, passwd, user, algorithm), NULL)

/* Without libpq, the parse error says so; the caller frees it with PQfreemem, which then is free. */
PQconninfoOption *PQconninfoParse(const char *conninfo, char **errmsg) {
    REAL(PQconninfoParse);
    if (real != NULL) return real(conninfo, errmsg);
    if (errmsg != NULL) {
        char reason[300];
        lightscope_pq_load(reason, sizeof reason);
        *errmsg = strdup(reason);
    }
    return NULL;
}
FORWARD_VOID(PQconninfoFree, (PQconninfoOption *connOptions), (connOptions))

void PQfreemem(void *ptr) {
    REAL(PQfreemem);
    if (real != NULL) real(ptr); else free(ptr);
}
