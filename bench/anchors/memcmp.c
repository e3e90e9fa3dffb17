/* The anchor of the visibility figures: memcmp() of two SIZE-byte buffers
 * holding the same pattern, best of ROUNDS, printed as bytes per ms.
 *   memcmp SIZE ROUNDS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	size_t size = argc > 1 ? strtoull(argv[1], NULL, 0) : 64UL << 20;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	unsigned char *a = malloc(size), *b = malloc(size);
	double best = 1e30;
	volatile int sink = 0;

	if (!a || !b)
		return 1;
	memset(a, 0xaa, size);
	memset(b, 0xaa, size);
	for (int i = 0; i < rounds; i++) {
		struct timespec t0, t1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		sink += memcmp(a, b, size);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
		if (ms < best)
			best = ms;
	}
	printf("%.1f\n", size / best);
	return sink;
}
