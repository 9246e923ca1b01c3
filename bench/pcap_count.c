/* The limit for reading a capture file: libpcap's pcap_loop with a callback that only
 * counts. Prints "<packets> <seconds>" (wall clock around the loop, file already open). */
#include <pcap/pcap.h>
#include <stdio.h>
#include <time.h>

static void count(u_char *user, const struct pcap_pkthdr *header, const u_char *bytes) {
    (void)header;
    (void)bytes;
    ++*(unsigned long long *)user;
}

int main(int argc, char **argv) {
    char error[PCAP_ERRBUF_SIZE];
    if (argc != 2) {
        fprintf(stderr, "usage: pcap_count FILE\n");
        return 2;
    }
    pcap_t *handle = pcap_open_offline(argv[1], error);
    if (!handle) {
        fprintf(stderr, "pcap_count: %s\n", error);
        return 1;
    }
    unsigned long long packets = 0;
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (pcap_loop(handle, -1, count, (u_char *)&packets) == -1) {
        fprintf(stderr, "pcap_count: %s\n", pcap_geterr(handle));
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    printf("%llu %.6f\n", packets, (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
    pcap_close(handle);
    return 0;
}
