/* The anchor of bench/figures/memslots.ts: KVM_SET_USER_MEMORY_REGION of
 * NR 2 MiB slots over one anonymous mapping on the host's /dev/kvm (as
 * set_memory_region_test's max-slots case), printed as ms.
 *   memslots NR */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#define SLOT_SIZE (2UL << 20)

int main(int argc, char **argv)
{
	int nr = argc > 1 ? atoi(argv[1]) : 32764;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	struct timespec t0, t1;
	int vm, max;
	char *mem;

	if (kvm < 0) {
		perror("open /dev/kvm");
		return 4;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		perror("KVM_CREATE_VM");
		return 1;
	}
	max = ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if (max < nr) {
		fprintf(stderr, "KVM_CAP_NR_MEMSLOTS is %d, below %d\n", max, nr);
		return 4;
	}
	mem = mmap(NULL, nr * SLOT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < nr; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = i, .guest_phys_addr = (unsigned long long)i * SLOT_SIZE,
			.memory_size = SLOT_SIZE, .userspace_addr = (unsigned long)mem + i * SLOT_SIZE,
		};
		if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r)) {
			perror("KVM_SET_USER_MEMORY_REGION");
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.1f\n", (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}
