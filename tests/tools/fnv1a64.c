/* fnv1a64 FILE: the FNV-1a 64-bit hash of a file, as the hypervisor prints
 * for a disk (devices/ramdisk.c), so the tests can compare disk contents
 * end to end. Built for the host by the Makefile. */
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fnv1a64 FILE\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a offset basis */
	int c;
	while ((c = fgetc(f)) != EOF) {
		h ^= (uint8_t)c;
		h *= 0x100000001b3ULL; /* FNV prime */
	}
	fclose(f);
	printf("%016llx\n", (unsigned long long)h);
	return 0;
}
