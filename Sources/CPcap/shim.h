#ifndef LIGHTSCOPE_CPCAP_H
#define LIGHTSCOPE_CPCAP_H
#include <pcap/pcap.h>
#endif
