#ifndef LIGHTSCOPE_CSYSTEMD_H
#define LIGHTSCOPE_CSYSTEMD_H
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#include <systemd/sd-id128.h>
#endif
