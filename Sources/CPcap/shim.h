#ifndef LIGHTSCOPE_CPCAP_H
#define LIGHTSCOPE_CPCAP_H
#include <pcap/pcap.h>
/* struct sock_fprog, to hand the kernel a compiled filter directly (SO_ATTACH_FILTER). */
#include <linux/filter.h>
#endif
