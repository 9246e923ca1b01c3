#ifndef LIGHTSCOPE_CLIBPQ_H
#define LIGHTSCOPE_CLIBPQ_H

/* libpq's API, loaded only when it is first called: the fleet shipper and the fleet commands
   use it; a daemon that ships nothing never maps libpq and the ~20 libraries it pulls in
   (OpenSSL, GnuTLS, Kerberos, LDAP, SASL...), ~5 MiB of resident memory (docs/resources.md).
   The binary defines the PQ* functions it uses (libpq_loader.c) and each forwards to the real
   one in libpq.so.5, opened with dlopen(3) on the first call. */
#include <postgresql/libpq-fe.h>

/* Opens libpq.so.5 if it is not open yet. 1 if it is, else 0, with the reason
   (dlerror's text) in `reason` (`size` bytes, NUL-terminated). */
int lightscope_pq_load(char *reason, unsigned long size);

#endif
